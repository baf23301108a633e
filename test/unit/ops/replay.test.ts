// The pure parts of the replay: which table a Redis key belongs to, the canonical form values are
// hashed in, the before/after comparison split into deterministic and timing-dependent tables, and the
// progress figures (rate, ETA).
import neo4j from 'neo4j-driver'
import { describe, expect, it } from 'vitest'
import { progress } from '../../../ops/replay.js'
import {
  canonical,
  compareDigests,
  hashOf,
  redisKeyOutput,
  type SinkDigest,
  TIMING_DEPENDENT,
  tableClass,
} from '../../../ops/replay-digest.js'
import { OUTPUT_NAMES } from '../../../processors/outputs.js'

describe('redisKeyOutput', () => {
  it('puts entity hashes and their indexes with their table', () => {
    expect(redisKeyOutput('agent:a-1')).toBe('agents')
    expect(redisKeyOutput('agents:status:IDLE')).toBe('agents')
    expect(redisKeyOutput('team:t-1:members')).toBe('teams')
    expect(redisKeyOutput('teams:all')).toBe('teams')
    expect(redisKeyOutput('tasks:team:t-1')).toBe('tasks')
    expect(redisKeyOutput('capacity:idle')).toBe('idleAgentsByCapability')
    expect(redisKeyOutput('alerts')).toBe('alerts')
    expect(redisKeyOutput('alert:x')).toBe('alerts')
  })

  it('puts windows, window and group indexes and leaderboards with their output, hourly apart', () => {
    expect(redisKeyOutput('m:tokens_by_agent:a-1:1000')).toBe('tokensByAgent')
    expect(redisKeyOutput('m:tokens_by_agent_1h:a-1:1000')).toBe('tokensByAgentHourly')
    expect(redisKeyOutput('mi:agent_sessions:a:1')).toBe('agentSessions')
    expect(redisKeyOutput('mg:processing_latency')).toBe('processingLatency')
    expect(redisKeyOutput('lb:tokens_by_agent_1h:60000')).toBe('tokensByAgentHourly')
    expect(redisKeyOutput('m:no_such_output:x:1')).toBe('other')
    expect(redisKeyOutput('something')).toBe('other')
  })
})

describe('tableClass', () => {
  it('classes every output the sinks hold, the entity tables deterministic', () => {
    for (const name of ['agents', 'teams', 'tasks', 'tokensByAgent', 'agentSessions'] as const)
      expect(tableClass(name).class).toBe('deterministic')
    for (const name of ['processingLatency', 'inferenceTime', 'tokensByTemplate', 'alerts'] as const)
      expect(tableClass(name)).toEqual({ class: 'timing-dependent', reason: TIMING_DEPENDENT[name] })
    // Every name in the table is an output (no typo leaves an output deterministic by mistake).
    for (const name of Object.keys(TIMING_DEPENDENT)) expect([...OUTPUT_NAMES, 'other']).toContain(name)
  })
})

describe('canonical', () => {
  it('is the same whatever the key order, with Neo4j integers and bigints as text', () => {
    expect(canonical({ b: 1, a: { d: [1, 2], c: null } })).toBe(
      canonical({ a: { c: null, d: [1, 2] }, b: 1 }),
    )
    expect(canonical({ n: neo4j.int(5) })).toBe(canonical({ n: 5n }))
    expect(canonical({ n: neo4j.int(5) })).toBe('{"n":"5"}')
    expect(canonical([2, 1])).not.toBe(canonical([1, 2]))
  })
})

describe('compareDigests', () => {
  const digest = (tables: Record<string, Record<string, string>>): SinkDigest => ({
    tables: new Map(Object.entries(tables).map(([t, ids]) => [t, new Map(Object.entries(ids))])),
    takenAt: 0,
  })

  it('counts equal, changed, missing and added ids per table, with examples', () => {
    const c = compareDigests(
      digest({ 'neo4j:agents': { a: hashOf('1'), b: hashOf('2'), c: hashOf('3') } }),
      digest({ 'neo4j:agents': { a: hashOf('1'), b: hashOf('x'), d: hashOf('4') } }),
    )
    expect(c.deterministicEqual).toBe(false)
    expect(c.deterministic).toEqual([
      expect.objectContaining({
        table: 'neo4j:agents',
        store: 'neo4j',
        output: 'agents',
        before: 3,
        after: 3,
        equal: 1,
        changed: 1,
        missing: 1,
        added: 1,
        examples: [
          { id: 'b', difference: 'changed' },
          { id: 'c', difference: 'missing' },
          { id: 'd', difference: 'added' },
        ],
      }),
    ])
  })

  it('leaves timing-dependent tables out of the verdict', () => {
    const c = compareDigests(
      digest({ 'redis:agents': { a: '1' }, 'redis:processingLatency': { w: '1' } }),
      digest({ 'redis:agents': { a: '1' }, 'redis:processingLatency': { w: '2' } }),
    )
    expect(c.deterministicEqual).toBe(true)
    expect(c.timingDependent.map((t) => [t.table, t.changed])).toEqual([['redis:processingLatency', 1]])
  })

  it('sees a table present on one side only', () => {
    const c = compareDigests(digest({}), digest({ 'redis:tokensByAgent': { w: '1' } }))
    expect(c.deterministicEqual).toBe(false)
    expect(c.deterministic[0]).toMatchObject({ before: 0, after: 1, added: 1 })
  })
})

describe('progress', () => {
  it('gives the rate and the time left', () => {
    expect(progress('processor', 500, 2000, 'events', 1000)).toEqual({
      phase: 'processor',
      done: 500,
      total: 2000,
      unit: 'events',
      elapsedMs: 1000,
      perSecond: 500,
      etaMs: 3000,
    })
    expect(progress('sinks', 0, 10, 'records', 1000).etaMs).toBeNull()
    expect(progress('sinks', 0, 0, 'records', 0).etaMs).toBe(0)
  })
})
