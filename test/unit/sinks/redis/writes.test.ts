// The Redis sink's compilation of records into script ops, and the hash layout round trip: what
// decides the read model's keys and values before any Redis is involved.
import { describe, expect, it } from 'vitest'
import type { AgentSnapshot } from '../../../../processors/entities/agents.js'
import { windowedKey } from '../../../../processors/windowed-key.js'
import { decodeHash, encodeHashFields } from '../../../../sinks/redis/hash-codec.js'
import { RedisKeys } from '../../../../sinks/redis/keys.js'
import { WriteCompiler } from '../../../../sinks/redis/writes.js'
import { Serdes, Window, Windowed, WindowedSerdes } from '../../../../topology/index.js'

const DAY = 24 * 60 * 60 * 1000
const compiler = new WriteCompiler(new RedisKeys('p:'), {
  retentionMs: 7 * DAY,
  alertRetentionMs: 14 * DAY,
  maxAlerts: 100,
  metricsWindowMs: 60_000,
  hoppingWindowMs: 3_600_000,
})

const agent: AgentSnapshot = {
  agent_id: 'a1',
  status: 'BUSY',
  template_id: 'writer',
  version: 3,
  name: 'A',
  model: null,
  capabilities: [
    { name: 'edit', category: 'text' },
    { name: 'summarize', category: 'text' },
  ],
  terminated_reason: null,
  created_at: 5,
  updated_at: 9,
  last_event_id: 'e9',
  events: 4,
  team_id: null,
  team_role: null,
  team_since: null,
}

describe('WriteCompiler', () => {
  it('indexes an agent by status, template, each capability and each category once', () => {
    const [op] = compiler.upsert('agents', Buffer.from('a1'), agent as unknown as Record<string, unknown>)
    expect(op?.slice(0, 5)).toEqual([
      'E',
      String((op?.length ?? 0) - 2),
      'p:agent:a1',
      'a1',
      [
        'p:agents:all',
        'p:agents:status:BUSY',
        'p:agents:template:writer',
        'p:agents:capability:edit',
        'p:agents:capability:summarize',
        'p:agents:category:text',
      ].join('\n'),
    ])
    expect(op).not.toContain('model')
  })

  it('keys a time window by its group and start, expiring at the end plus the retention', () => {
    const key = windowedKey(60_000).serialize('', new Windowed('a1', new Window(120_000, 180_000))) as Buffer
    const ops = compiler.upsert('tokensByAgent', key, {
      agent_id: 'a1',
      window_start: 120_000,
      window_end: 180_000,
      tokens: 42,
    })
    expect(ops[0]?.slice(0, 8)).toEqual([
      'W',
      String((ops[0]?.length ?? 0) - 2),
      'p:m:tokens_by_agent:a1:120000',
      String(180_000 + 7 * DAY),
      'p:mi:tokens_by_agent:a1',
      '120000',
      '120000',
      String(7 * DAY + 60_000),
    ])
    // The output's groups index (the API lists groups and reads their latest windows from it).
    expect(ops[1]).toEqual(['G', '4', 'p:mg:tokens_by_agent', '120000', 'a1', String(180_000 + 7 * DAY)])
    expect(ops[2]).toEqual(['Z', '4', 'p:lb:tokens_by_agent:120000', '42', 'a1', String(180_000 + 7 * DAY)])
  })

  it('keys a session window by start and end, so a merged-away session is a different key', () => {
    const key = WindowedSerdes.sessionWindowed(Serdes.String()).serialize(
      '',
      new Windowed('a1', new Window(1_000, 5_000)),
    ) as Buffer
    expect(compiler.tombstone('agentSessions', key)).toEqual([
      ['w', '3', 'p:m:agent_sessions:a1:1000-5000', 'p:mi:agent_sessions:a1', '1000-5000'],
    ])
  })

  it('refuses a windowed record without a usable key, and outputs it does not write', () => {
    expect(() => compiler.tombstone('tokensByTeam', null)).toThrow(/without a key/)
    expect(() => compiler.tombstone('tokensByTeam', Buffer.from('abc'))).toThrow(/windowed key of 3 bytes/)
    expect(() => compiler.tombstone('dataQuality', Buffer.from('x'))).toThrow(/does not write dataQuality/)
  })

  it('deletes a team and its members hash on a tombstone', () => {
    expect(compiler.tombstone('teams', Buffer.from('t1'))).toEqual([
      ['D', '2', 'p:team:t1', 't1'],
      ['X', '1', 'p:team:t1:members'],
    ])
  })
})

describe('hash layout', () => {
  it('reads back what it wrote, nulls as absent fields', () => {
    const fields: string[] = []
    encodeHashFields(agent as unknown as Record<string, unknown>, fields)
    const hash: Record<string, string> = {}
    for (let i = 0; i < fields.length; i += 2) hash[fields[i] as string] = fields[i + 1] as string
    expect(hash.model).toBeUndefined()
    expect(hash.capabilities).toBe(JSON.stringify(agent.capabilities))
    expect(decodeHash('agents', hash)).toEqual(agent)
  })
})
