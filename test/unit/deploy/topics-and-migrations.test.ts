import { describe, expect, it } from 'vitest'
import { EVENT_TOPICS } from '../../../deploy/kafka/topics.js'
import { MIGRATIONS } from '../../../deploy/neo4j/migrations.js'

describe('event topics', () => {
  it('are the operations guide topics with its partitions and retention', () => {
    expect(EVENT_TOPICS.map((t) => [t.name, t.partitions, t.configs['retention.ms']])).toEqual([
      ['agent_events', 8, '604800000'],
      ['team_events', 8, '604800000'],
      ['task_events', 8, '604800000'],
      ['system_events', 4, '1209600000'],
    ])
  })
})

describe('graph migrations', () => {
  it('have consecutive versions from 1, each with a rollback', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1))
    for (const m of MIGRATIONS) {
      expect(m.down.length).toBeGreaterThan(0)
      expect(m.up.every((s) => s.includes('IF NOT EXISTS'))).toBe(true)
      expect(m.down.every((s) => s.includes('IF EXISTS'))).toBe(true)
    }
  })

  it("create exactly the indexes of the operations guide and the sinks' offsets, each dropped by its own rollback", () => {
    const created = MIGRATIONS.flatMap((m) => m.up.map((s) => /(?:CONSTRAINT|INDEX) (\w+)/.exec(s)?.[1]))
    expect(created.sort()).toEqual(
      [
        'agent_id_index',
        'agent_status_index',
        'capability_name_index',
        'capability_category_index',
        'team_id_index',
        'team_status_index',
        'task_id_index',
        'task_priority_index',
        'agent_template_index',
        'sink_offset_key',
      ].sort(),
    )
    for (const m of MIGRATIONS) {
      const made = m.up.map((s) => /(?:CONSTRAINT|INDEX) (\w+)/.exec(s)?.[1]).sort()
      const dropped = m.down.map((s) => /(?:CONSTRAINT|INDEX) (\w+)/.exec(s)?.[1]).sort()
      expect(dropped).toEqual(made)
    }
  })

  it('make the id properties, the capability name and the sink offset key unique, the rest range indexes', () => {
    const statements = MIGRATIONS.flatMap((m) => m.up)
    const uniques = statements
      .filter((s) => s.includes('IS UNIQUE'))
      .map((s) => /\(\w:(\w+)\) REQUIRE (\([^)]*\)|\w\.\w+)/.exec(s)?.slice(1).join(' '))
    expect(uniques.sort()).toEqual([
      'Agent n.id',
      'Capability n.name',
      'SinkOffset (o.sink, o.topic, o.partition)',
      'Task n.id',
      'Team n.id',
    ])
    expect(statements.find((s) => s.includes('agent_template_index'))).toContain(
      'ON (n.template_id, n.version)',
    )
  })
})
