// The Neo4j sink target against the real Neo4j: the graph a batch of snapshots makes, relationships
// following their owner's snapshot, the offset guard (a batch twice, a batch at or below the stored
// offset, empty batches, two targets on one partition at once), convergence whatever the order of
// topics, tombstones, failure classification, and reset. Every id is test-prefixed; reset (which
// clears the shared labels) runs last, in its own describe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SinkMetrics } from '../../config/metrics.js'
import { type FetchedRecord, partitionKey } from '../../kafka/partition-fetcher.js'
import { type AgentSnapshot, emptyAgent } from '../../processors/entities/agents.js'
import { emptyTask, type TaskSnapshot } from '../../processors/entities/tasks.js'
import { emptyTeam, type TeamSnapshot } from '../../processors/entities/teams.js'
import { createNeo4jDriver } from '../../sinks/neo4j/driver.js'
import type { EntitySnapshot } from '../../sinks/neo4j/graph-rows.js'
import { Neo4jSinkTarget } from '../../sinks/neo4j/target.js'
import type { PartitionBatch } from '../../sinks/runtime/target.js'
import { processorSerdes } from '../support/processor-serdes.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const driver = createNeo4jDriver(config.neo4j)
const database = config.neo4j.database
const topics = { agents: `${prefix}.agents`, teams: `${prefix}.teams`, tasks: `${prefix}.tasks` }
const serdes = await processorSerdes()

/** What the target's audit says it applied of one partition. */
async function appliedOf(t: Neo4jSinkTarget, topic: string, partition: number): Promise<number> {
  return (await t.audit([{ topic, partition }])).get(partitionKey(topic, partition))?.applied ?? 0
}

function recordingMetrics(): SinkMetrics & { appliedByTopic: Map<string, number>; failures: number } {
  const appliedByTopic = new Map<string, number>()
  const m = {
    appliedByTopic,
    failures: 0,
    applied: (_sink: string, topic: string, n: number) =>
      appliedByTopic.set(topic, (appliedByTopic.get(topic) ?? 0) + n),
    batch: () => {},
    retry: () => {},
    deadLetter: () => {},
    lag: () => {},
    forgetLag: () => {},
    neo4jConnectionFailure: () => {
      m.failures++
    },
    neo4jQuery: () => {},
    neo4jPool: () => {},
    archiveUploaded: () => {},
  }
  return m as unknown as SinkMetrics & { appliedByTopic: Map<string, number>; failures: number }
}

const targets: Neo4jSinkTarget[] = []
async function openTarget(name: string, metrics?: SinkMetrics): Promise<Neo4jSinkTarget> {
  const target = new Neo4jSinkTarget({
    name: `${prefix}-${name}`,
    neo4j: config.neo4j,
    topics,
    serdes,
    ...(metrics ? { metrics } : {}),
  })
  await target.open()
  targets.push(target)
  return target
}

afterAll(async () => {
  for (const t of targets) await t.close()
  await driver.executeQuery(
    'MATCH (n) WHERE (n:Agent OR n:Team OR n:Task OR n:Capability) AND (n.id STARTS WITH $p OR n.name STARTS WITH $p) DETACH DELETE n',
    { p: prefix },
    { database },
  )
  await driver.executeQuery(
    'MATCH (o:SinkOffset) WHERE o.sink STARTS WITH $p DELETE o',
    { p: prefix },
    { database },
  )
  await driver.close()
})

const agent = (id: string, over: Partial<AgentSnapshot> = {}): AgentSnapshot => ({
  ...emptyAgent(id),
  status: 'IDLE',
  template_id: 'researcher',
  version: 3,
  name: `Agent ${id}`,
  model: 'gpt-x',
  created_at: 1_700_000_000_000,
  updated_at: 1_700_000_001_000,
  last_event_id: `e-${id}`,
  events: 1,
  ...over,
})
const team = (id: string, over: Partial<TeamSnapshot> = {}): TeamSnapshot => ({
  ...emptyTeam(id),
  status: 'FORMED',
  formation_score: 0.5,
  updated_at: 1_700_000_002_000,
  events: 2,
  ...over,
})
const task = (id: string, over: Partial<TaskSnapshot> = {}): TaskSnapshot => ({
  ...emptyTask(id),
  status: 'CREATED',
  priority: 'HIGH',
  token_budget: 1000,
  created_at: 1_700_000_000_500,
  updated_at: 1_700_000_003_000,
  events: 1,
  ...over,
})

function batchOf(
  topic: string,
  partition: number,
  values: (readonly [string, EntitySnapshot | null])[],
  first = 0,
  lastOffset?: number,
): PartitionBatch<EntitySnapshot> {
  const records = values.map(([key, value], i) => ({
    offset: first + i,
    timestamp: 1_700_000_000_000 + i,
    key: Buffer.from(key),
    value,
  }))
  return { topic, partition, records, lastOffset: lastOffset ?? first + values.length - 1 }
}

/** The graph of the ids starting with `p`: every node's properties and every relationship, sorted. */
async function graphOf(p: string): Promise<{ nodes: string[]; rels: string[] }> {
  const nodes = await driver.executeQuery(
    `MATCH (n) WHERE (n:Agent OR n:Team OR n:Task) AND n.id STARTS WITH $p
        OR n:Capability AND n.name STARTS WITH $p
     RETURN labels(n)[0] AS label, properties(n) AS props`,
    { p },
    { database },
  )
  const rels = await driver.executeQuery(
    `MATCH (a)-[r]->(b) WHERE coalesce(a.id, a.name) STARTS WITH $p
     RETURN labels(a)[0] + ':' + coalesce(a.id, a.name) + '-' + type(r) + coalesce('{' + r.role + '}', '') +
            '->' + labels(b)[0] + ':' + coalesce(b.id, b.name) AS rel`,
    { p },
    { database },
  )
  return {
    nodes: nodes.records
      .map((r) => `${r.get('label')} ${JSON.stringify(sortKeys(r.get('props') as Record<string, unknown>))}`)
      .sort(),
    rels: rels.records.map((r) => String(r.get('rel'))).sort(),
  }
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)))
}

async function nodeProps(label: string, id: string): Promise<Record<string, unknown> | null> {
  const { records } = await driver.executeQuery(
    `MATCH (n:${label} {id: $id}) RETURN properties(n) AS p`,
    { id },
    { database },
  )
  return (records[0]?.get('p') as Record<string, unknown> | undefined) ?? null
}

async function storedOffset(sink: string, topic: string, partition: number): Promise<number | null> {
  const { records } = await driver.executeQuery(
    'MATCH (o:SinkOffset {sink: $sink, topic: $topic, partition: $partition}) RETURN o.offset AS o',
    { sink, topic, partition },
    { database },
  )
  const o = records[0]?.get('o')
  return o === undefined || o === null ? null : Number(o)
}

describe('Neo4j sink target', () => {
  let target: Neo4jSinkTarget
  beforeAll(async () => {
    target = await openTarget('main')
  })

  it('writes snapshots as the graph: properties, capabilities, memberships with roles, assignment, requirements', async () => {
    const p = `${prefix}-g1-`
    const cap = (n: string) => ({ name: `${p}${n}`, category: 'coding' })
    await target.apply([
      batchOf(topics.agents, 0, [
        [
          `${p}a1`,
          agent(`${p}a1`, {
            capabilities: [cap('review'), cap('write')],
            team_id: `${p}t1`,
            team_role: 'LEADER',
          }),
        ],
        [`${p}a2`, agent(`${p}a2`, { capabilities: [cap('review')], status: 'BUSY', model: null })],
      ]),
      batchOf(topics.teams, 0, [
        [
          `${p}t1`,
          team(`${p}t1`, {
            task_id: `${p}k1`,
            required_capabilities: [`${p}review`],
            members: [
              { agent_id: `${p}a1`, role: 'LEADER' },
              { agent_id: `${p}a2`, role: 'REVIEWER' },
            ],
          }),
        ],
      ]),
      batchOf(topics.tasks, 3, [
        [
          `${p}k1`,
          task(`${p}k1`, {
            status: 'COMPLETED',
            team_id: `${p}t1`,
            required_capabilities: [`${p}write`],
            agent_ids: [`${p}a1`],
            tokens_by_agent: { [`${p}a1`]: 1200 },
            tokens_used: 1200,
            finished_at: 1_700_000_009_000,
            duration_ms: 4000,
            outcome_event: true,
          }),
        ],
      ]),
    ])
    expect(await nodeProps('Agent', `${p}a1`)).toEqual({
      id: `${p}a1`,
      status: 'IDLE',
      template_id: 'researcher',
      version: 3,
      name: `Agent ${p}a1`,
      model: 'gpt-x',
      created_at: 1_700_000_000_000,
      updated_at: 1_700_000_001_000,
      last_event_id: `e-${p}a1`,
      events: 1,
      team_id: `${p}t1`,
      team_role: 'LEADER',
    })
    expect(await nodeProps('Task', `${p}k1`)).toEqual({
      id: `${p}k1`,
      status: 'COMPLETED',
      priority: 'HIGH',
      required_capabilities: [`${p}write`],
      token_budget: 1000,
      team_id: `${p}t1`,
      agent_ids: [`${p}a1`],
      tokens_by_agent: JSON.stringify({ [`${p}a1`]: 1200 }),
      tokens_used: 1200,
      created_at: 1_700_000_000_500,
      finished_at: 1_700_000_009_000,
      duration_ms: 4000,
      updated_at: 1_700_000_003_000,
      events: 1,
      outcome_event: true,
    })
    // Integers are stored as integers, not floats.
    const { records } = await driver.executeQuery(
      'MATCH (k:Task {id: $id}) RETURN valueType(k.tokens_used) AS t, valueType(k.finished_at) AS f',
      { id: `${p}k1` },
      { database },
    )
    expect([records[0]?.get('t'), records[0]?.get('f')]).toEqual(['INTEGER NOT NULL', 'INTEGER NOT NULL'])
    const graph = await graphOf(p)
    expect(graph.rels).toEqual(
      [
        `Agent:${p}a1-HAS_CAPABILITY->Capability:${p}review`,
        `Agent:${p}a1-HAS_CAPABILITY->Capability:${p}write`,
        `Agent:${p}a1-MEMBER_OF{LEADER}->Team:${p}t1`,
        `Agent:${p}a2-HAS_CAPABILITY->Capability:${p}review`,
        `Agent:${p}a2-MEMBER_OF{REVIEWER}->Team:${p}t1`,
        `Task:${p}k1-REQUIRES->Capability:${p}write`,
        `Team:${p}t1-ASSIGNED_TO->Task:${p}k1`,
      ].sort(),
    )
    expect(graph.nodes.filter((n) => n.startsWith('Capability'))).toEqual([
      `Capability {"category":"coding","name":"${p}review"}`,
      `Capability {"category":"coding","name":"${p}write"}`,
    ])
    expect(await storedOffset(target.name, topics.agents, 0)).toBe(1)
    expect(await storedOffset(target.name, topics.tasks, 3)).toBe(0)
  })

  it('makes relationships equal to the latest snapshot: a dropped capability, a member gone, a role changed, a new team', async () => {
    const p = `${prefix}-g2-`
    const cap = (n: string) => ({ name: `${p}${n}`, category: 'c' })
    await target.apply([
      batchOf(topics.agents, 1, [[`${p}a1`, agent(`${p}a1`, { capabilities: [cap('x'), cap('y')] })]], 0),
      batchOf(topics.teams, 1, [
        [
          `${p}t1`,
          team(`${p}t1`, {
            members: [
              { agent_id: `${p}a1`, role: 'MEMBER' },
              { agent_id: `${p}ghost`, role: 'MEMBER' },
            ],
          }),
        ],
      ]),
      batchOf(topics.tasks, 1, [
        [`${p}k1`, task(`${p}k1`, { team_id: `${p}t1`, required_capabilities: [`${p}z`] })],
      ]),
    ])
    // The ghost agent is a placeholder (no snapshot of its own yet).
    expect(await nodeProps('Agent', `${p}ghost`)).toEqual({ id: `${p}ghost` })
    await target.apply([
      batchOf(topics.agents, 1, [[`${p}a1`, agent(`${p}a1`, { capabilities: [cap('y')] })]], 1),
      batchOf(
        topics.teams,
        1,
        [[`${p}t1`, team(`${p}t1`, { members: [{ agent_id: `${p}a1`, role: 'LEADER' }] })]],
        1,
      ),
      batchOf(
        topics.tasks,
        1,
        [[`${p}k1`, task(`${p}k1`, { team_id: `${p}t2`, required_capabilities: [] })]],
        1,
      ),
    ])
    const graph = await graphOf(p)
    expect(graph.rels).toEqual([
      `Agent:${p}a1-HAS_CAPABILITY->Capability:${p}y`,
      `Agent:${p}a1-MEMBER_OF{LEADER}->Team:${p}t1`,
      `Team:${p}t2-ASSIGNED_TO->Task:${p}k1`,
    ])
    // Orphans without a snapshot of their own are gone; t1 (which has one) stays.
    expect(await nodeProps('Agent', `${p}ghost`)).toBeNull()
    expect(graph.nodes.filter((n) => n.startsWith('Capability'))).toEqual([
      `Capability {"category":"c","name":"${p}y"}`,
    ])
    expect(await nodeProps('Team', `${p}t2`)).toEqual({ id: `${p}t2` })
    expect((await nodeProps('Team', `${p}t1`))?.status).toBe('FORMED')
  })

  it('applies only the last snapshot of a key within a batch, counting every record above the stored offset', async () => {
    const p = `${prefix}-g3-`
    const metrics = recordingMetrics()
    const t = await openTarget('dedup', metrics)
    await t.apply([
      batchOf(topics.agents, 0, [
        [`${p}a1`, agent(`${p}a1`, { status: 'IDLE', events: 1 })],
        [`${p}a1`, agent(`${p}a1`, { status: 'BUSY', events: 2 })],
        [`${p}a2`, agent(`${p}a2`)],
        [`${p}a1`, agent(`${p}a1`, { status: 'OFFLINE', events: 3 })],
      ]),
    ])
    expect((await nodeProps('Agent', `${p}a1`))?.status).toBe('OFFLINE')
    expect(await appliedOf(t, topics.agents, 0)).toBe(4)
  })

  it('changes nothing when the same batch is applied twice, or a batch at or below the stored offset', async () => {
    const p = `${prefix}-g4-`
    const metrics = recordingMetrics()
    const t = await openTarget('twice', metrics)
    const batch = [
      batchOf(
        topics.agents,
        2,
        [[`${p}a1`, agent(`${p}a1`, { capabilities: [{ name: `${p}c`, category: 'k' }] })]],
        10,
      ),
      batchOf(
        topics.teams,
        2,
        [[`${p}t1`, team(`${p}t1`, { members: [{ agent_id: `${p}a1`, role: 'MEMBER' }] })]],
        20,
      ),
    ]
    await t.apply(batch)
    const before = await graphOf(p)
    const applied = await appliedOf(t, topics.agents, 2)
    expect(applied).toBe(1)
    await t.apply(batch)
    expect(await graphOf(p)).toEqual(before)
    expect(await appliedOf(t, topics.agents, 2)).toBe(applied)

    // Older offsets carrying other values (a replayed fetch): skipped, and the offset is not lowered.
    await t.apply([
      batchOf(
        topics.agents,
        2,
        [[`${p}a1`, agent(`${p}a1`, { status: 'TERMINATED', capabilities: [] })]],
        5,
        10,
      ),
      batchOf(topics.teams, 2, [[`${p}t1`, team(`${p}t1`, { members: [] })]], 19),
    ])
    expect(await graphOf(p)).toEqual(before)
    expect(await storedOffset(t.name, topics.agents, 2)).toBe(10)
    expect(await storedOffset(t.name, topics.teams, 2)).toBe(20)

    // A batch straddling the stored offset applies only the records above it.
    await t.apply([
      batchOf(
        topics.agents,
        2,
        [
          [`${p}a1`, agent(`${p}a1`, { status: 'TERMINATED' })],
          [`${p}a2`, agent(`${p}a2`)],
        ],
        10,
      ),
    ])
    expect((await nodeProps('Agent', `${p}a1`))?.status).toBe('IDLE')
    expect((await nodeProps('Agent', `${p}a2`))?.status).toBe('IDLE')
  })

  it('moves the stored offset on a batch without records, and restart() returns the stored offsets', async () => {
    const t = await openTarget('empty')
    expect(await t.restart([{ topic: topics.tasks, partition: 5 }])).toEqual(new Map())
    await t.apply([{ topic: topics.tasks, partition: 5, records: [], lastOffset: 41 }])
    await t.apply([{ topic: topics.teams, partition: 0, records: [], lastOffset: 7 }])
    expect(
      await t.restart([
        { topic: topics.tasks, partition: 5 },
        { topic: topics.teams, partition: 0 },
        { topic: topics.agents, partition: 0 },
      ]),
    ).toEqual(
      new Map([
        [partitionKey(topics.tasks, 5), 41],
        [partitionKey(topics.teams, 0), 7],
      ]),
    )
  })

  it('converges to one graph whatever the order of topics', async () => {
    const dumps: string[] = []
    const orders = [
      ['agents', 'teams', 'tasks'],
      ['tasks', 'teams', 'agents'],
      ['teams', 'tasks', 'agents'],
      ['tasks', 'agents', 'teams'],
    ] as const
    for (const [i, order] of orders.entries()) {
      const p = `${prefix}-o${i}-`
      const t = await openTarget(`order${i}`)
      const caps = (...names: string[]) => names.map((n) => ({ name: `${p}${n}`, category: 'c' }))
      const byTopic = {
        agents: [
          [`${p}a1`, agent(`${p}a1`, { capabilities: caps('x', 'y') })],
          [`${p}a2`, agent(`${p}a2`, { capabilities: caps('y') })],
          [`${p}a1`, agent(`${p}a1`, { capabilities: caps('y'), status: 'BUSY' })],
        ],
        teams: [
          [`${p}t1`, team(`${p}t1`, { members: [{ agent_id: `${p}a1`, role: 'LEADER' }] })],
          [
            `${p}t1`,
            team(`${p}t1`, {
              members: [
                { agent_id: `${p}a2`, role: 'MEMBER' },
                { agent_id: `${p}a3`, role: 'MEMBER' },
              ],
            }),
          ],
        ],
        tasks: [
          [`${p}k1`, task(`${p}k1`, { team_id: `${p}t1`, required_capabilities: [`${p}x`] })],
          [`${p}k1`, task(`${p}k1`, { team_id: `${p}t1`, required_capabilities: [`${p}y`, `${p}w`] })],
        ],
      } as const
      // One record per apply, topic after topic, in this order.
      for (const kind of order) {
        for (const [n, entry] of byTopic[kind].entries()) {
          await t.apply([batchOf(topics[kind], 0, [entry as [string, EntitySnapshot]], n)])
        }
      }
      const g = await graphOf(p)
      dumps.push(JSON.stringify(g).replaceAll(p, 'P-'))
    }
    expect(new Set(dumps).size).toBe(1)
    expect(JSON.parse(dumps[0] as string).rels).toEqual([
      'Agent:P-a1-HAS_CAPABILITY->Capability:P-y',
      'Agent:P-a2-HAS_CAPABILITY->Capability:P-y',
      'Agent:P-a2-MEMBER_OF{MEMBER}->Team:P-t1',
      'Agent:P-a3-MEMBER_OF{MEMBER}->Team:P-t1',
      'Task:P-k1-REQUIRES->Capability:P-w',
      'Task:P-k1-REQUIRES->Capability:P-y',
      'Team:P-t1-ASSIGNED_TO->Task:P-k1',
    ])
  })

  it('applies a tombstone: owned relationships and properties go, the node stays while others reference it', async () => {
    const p = `${prefix}-g5-`
    await target.apply([
      batchOf(
        topics.agents,
        4,
        [
          [`${p}a1`, agent(`${p}a1`, { capabilities: [{ name: `${p}c`, category: 'k' }] })],
          [`${p}a2`, agent(`${p}a2`)],
        ],
        0,
      ),
      batchOf(
        topics.teams,
        4,
        [[`${p}t1`, team(`${p}t1`, { members: [{ agent_id: `${p}a1`, role: 'MEMBER' }] })]],
        0,
      ),
    ])
    await target.apply([
      batchOf(
        topics.agents,
        4,
        [
          [`${p}a1`, null],
          [`${p}a2`, null],
        ],
        2,
      ),
    ])
    expect(await nodeProps('Agent', `${p}a1`)).toEqual({ id: `${p}a1` })
    expect(await nodeProps('Agent', `${p}a2`)).toBeNull()
    expect((await graphOf(p)).rels).toEqual([`Agent:${p}a1-MEMBER_OF{MEMBER}->Team:${p}t1`])
    await target.apply([batchOf(topics.teams, 4, [[`${p}t1`, null]], 1)])
    expect(await graphOf(p)).toEqual({ nodes: [], rels: [] })
  })

  it('applies a partition once when two targets apply overlapping batches of it at the same time', async () => {
    const p = `${prefix}-g6-`
    const m1 = recordingMetrics()
    const m2 = recordingMetrics()
    const t1 = await openTarget('zombie', m1)
    const t2 = new Neo4jSinkTarget({ name: t1.name, neo4j: config.neo4j, topics, serdes, metrics: m2 })
    await t2.open()
    targets.push(t2)
    const values = Array.from(
      { length: 400 },
      (_, i) => [`${p}a${i % 50}`, agent(`${p}a${i % 50}`, { events: i })] as const,
    )
    const applied = () => appliedOf(t1, topics.agents, 7)
    const perRound: number[] = []
    for (let round = 0; round < 5; round++) {
      const base = round * 400
      const before = await applied()
      // t1 applies [base, base+300), t2 [base+100, base+400) at the same time. Whichever commits first
      // applies its 300; the other then reads that offset under the lock and applies only what is above
      // it: 100 records when t1 came first, none when t2 did. Without the lock both would read the old
      // offset and apply 600.
      await Promise.all([
        t1.apply([batchOf(topics.agents, 7, values.slice(0, 300), base)]),
        t2.apply([batchOf(topics.agents, 7, values.slice(100), base + 100)]),
      ])
      perRound.push((await applied()) - before)
    }
    for (const n of perRound) expect([300, 400]).toContain(n)
    expect(await storedOffset(t1.name, topics.agents, 7)).toBe(1999)
    expect((await nodeProps('Agent', `${p}a49`))?.events).toBe(399)
  })

  it('without the guard (tests only), applies every record again, counted, and restarts from nothing', async () => {
    const p = `${prefix}-g8-`
    const metrics = recordingMetrics()
    const t = new Neo4jSinkTarget({
      name: `${prefix}-unguarded`,
      neo4j: config.neo4j,
      topics,
      serdes,
      metrics,
      guard: false,
    })
    await t.open()
    targets.push(t)
    const batch = [batchOf(topics.agents, 0, [[`${p}a1`, agent(`${p}a1`)]])]
    await t.apply(batch)
    await t.apply(batch)
    expect(await appliedOf(t, topics.agents, 0)).toBe(2)
    expect(await t.restart([{ topic: topics.agents, partition: 0 }])).toEqual(new Map())
    expect((await nodeProps('Agent', `${p}a1`))?.status).toBe('IDLE')
  })

  it('decodes records through the snapshot serdes', () => {
    const value = agent(`${prefix}-d1`, { capabilities: [{ name: 'x', category: 'y' }] })
    const bytes = serdes.agentSnapshot.serialize(topics.agents, value) as Buffer
    const record: FetchedRecord = {
      topic: topics.agents,
      partition: 0,
      offset: 0,
      timestamp: 0,
      key: Buffer.from(value.agent_id),
      value: bytes,
      headers: new Map(),
    }
    expect(target.decode(record)).toEqual(value)
    expect(() => target.decode({ ...record, value: Buffer.from('junk') })).toThrow()
    expect(() => target.decode({ ...record, topic: 'elsewhere' })).toThrow(/does not consume/)
  })

  it('classifies failures: a refused value is data, an unreachable or closed server transient', async () => {
    const p = `${prefix}-g7-`
    const bad = agent(`${p}a1`, { capabilities: [{ name: null as unknown as string, category: 'k' }] })
    const error = await target.apply([batchOf(topics.agents, 6, [[`${p}a1`, bad]])]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(target.classify(error)).toBe('data')
    // Nothing of the refused batch was kept, offsets included.
    expect(await nodeProps('Agent', `${p}a1`)).toBeNull()
    expect(await storedOffset(target.name, topics.agents, 6)).toBeNull()

    const metrics = recordingMetrics()
    const down = new Neo4jSinkTarget({
      name: `${prefix}-down`,
      neo4j: { ...config.neo4j, uri: 'bolt://127.0.0.1:1' },
      pool: { connectionTimeout: 2000, maxTransactionRetryTime: 100 },
      topics,
      serdes,
      metrics,
    })
    const refused = await down.open().catch((e: unknown) => e)
    expect(down.classify(refused)).toBe('transient')
    expect(metrics.failures).toBeGreaterThan(0)
    expect(await down.ping()).toBe(false)
    await down.close()

    const closed = await openTarget('closed')
    await closed.close()
    const afterClose = await closed.restart([{ topic: topics.agents, partition: 0 }]).catch((e: unknown) => e)
    expect(closed.classify(afterClose)).toBe('transient')
  })
})

describe('Neo4j sink reset (clears the shared graph labels: runs last)', () => {
  it("deletes the graph and this sink's offsets, and no other sink's offsets", async () => {
    const p = `${prefix}-r-`
    const t = await openTarget('reset')
    const other = await openTarget('other')
    await other.apply([{ topic: topics.agents, partition: 0, records: [], lastOffset: 3 }])
    await t.apply([
      batchOf(topics.agents, 0, [
        [`${p}a1`, agent(`${p}a1`, { capabilities: [{ name: `${p}c`, category: 'k' }] })],
      ]),
      batchOf(topics.teams, 0, [
        [`${p}t1`, team(`${p}t1`, { members: [{ agent_id: `${p}a1`, role: 'MEMBER' }] })],
      ]),
      batchOf(topics.tasks, 0, [[`${p}k1`, task(`${p}k1`, { team_id: `${p}t1` })]]),
    ])
    await t.reset()
    const { records } = await driver.executeQuery(
      'MATCH (n) WHERE n:Agent OR n:Team OR n:Task OR n:Capability RETURN count(n) AS n',
      {},
      { database },
    )
    expect(Number(records[0]?.get('n'))).toBe(0)
    expect(await t.restart([{ topic: topics.agents, partition: 0 }])).toEqual(new Map())
    expect(await other.restart([{ topic: topics.agents, partition: 0 }])).toEqual(
      new Map([[partitionKey(topics.agents, 0), 3]]),
    )
  })
})
