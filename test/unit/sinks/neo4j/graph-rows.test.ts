import neo4j from 'neo4j-driver'
import { describe, expect, it } from 'vitest'
import { emptyAgent } from '../../../../processors/entities/agents.js'
import { emptyTask } from '../../../../processors/entities/tasks.js'
import { emptyTeam } from '../../../../processors/entities/teams.js'
import {
  agentRow,
  type EntitySnapshot,
  graphRows,
  taskRow,
  teamRow,
} from '../../../../sinks/neo4j/graph-rows.js'
import type { DecodedRecord } from '../../../../sinks/runtime/target.js'

const rec = (
  offset: number,
  key: string | null,
  value: EntitySnapshot | null,
): DecodedRecord<EntitySnapshot> => ({
  offset,
  timestamp: 0,
  key: key === null ? null : Buffer.from(key),
  value,
})

describe('graphRows', () => {
  it('skips records at or below the stored offset and keeps the last snapshot of each key, sorted by id', () => {
    const rows = graphRows([
      {
        topic: 'agents',
        kind: 'agents',
        stored: 1,
        records: [
          rec(0, 'b', { ...emptyAgent('b'), status: 'BUSY' }),
          rec(1, 'c', emptyAgent('c')),
          rec(2, 'b', { ...emptyAgent('b'), status: 'IDLE' }),
          rec(3, 'a', emptyAgent('a')),
          rec(4, 'b', { ...emptyAgent('b'), status: 'OFFLINE' }),
        ],
      },
    ])
    expect(rows.agents.upserts.map((r) => [r.id, r.props.status])).toEqual([
      ['a', 'UNKNOWN'],
      ['b', 'OFFLINE'],
    ])
    expect(rows.applied).toEqual(new Map([['agents', 3]]))
  })

  it('turns a last tombstone into a delete, and a snapshot after a tombstone into an upsert', () => {
    const rows = graphRows([
      {
        topic: 'teams',
        kind: 'teams',
        stored: null,
        records: [
          rec(0, 't1', emptyTeam('t1')),
          rec(1, 't1', null),
          rec(2, 't2', null),
          rec(3, 't2', emptyTeam('t2')),
        ],
      },
    ])
    expect(rows.teams.deletes).toEqual(['t1'])
    expect(rows.teams.upserts.map((r) => r.id)).toEqual(['t2'])
  })

  it('takes the id of a keyless record from its snapshot, and skips a keyless tombstone', () => {
    const rows = graphRows([
      {
        topic: 'tasks',
        kind: 'tasks',
        stored: null,
        records: [rec(0, null, emptyTask('k1')), rec(1, null, null)],
      },
    ])
    expect(rows.tasks.upserts.map((r) => r.id)).toEqual(['k1'])
    expect(rows.tasks.deletes).toEqual([])
    expect(rows.applied.get('tasks')).toBe(2)
  })
})

describe('rows', () => {
  it('send integers as neo4j Integers, floats as numbers, and sort relationship lists', () => {
    const a = agentRow({
      ...emptyAgent('a'),
      version: 2,
      updated_at: 5,
      capabilities: [
        { name: 'z', category: 'c' },
        { name: 'b', category: 'c' },
      ],
    })
    expect(a.props.version).toEqual(neo4j.int(2))
    expect(a.props.created_at).toBeNull()
    expect(a.capNames).toEqual(['b', 'z'])
    const t = teamRow({
      ...emptyTeam('t'),
      formation_score: 1,
      members: [
        { agent_id: 'y', role: 'MEMBER' },
        { agent_id: 'x', role: 'LEADER' },
      ],
    })
    expect(t.props.formation_score).toBe(1)
    expect(t.members).toEqual([
      { id: 'x', role: 'LEADER' },
      { id: 'y', role: 'MEMBER' },
    ])
    const k = taskRow({
      ...emptyTask('k'),
      required_capabilities: ['q', 'p', 'q'],
      tokens_by_agent: { b: 2, a: 1 },
    })
    expect(k.caps).toEqual(['p', 'q'])
    expect(k.props.tokens_by_agent).toBe('{"a":1,"b":2}')
    expect(k.teamId).toBeNull()
  })
})
