// P3: Neo4j sink upserts/s through Neo4jSinkTarget.apply() (offset guard: lock, read and move the
// stored offsets in the same transaction) as a ratio to the raw UNWIND MERGE of the same snapshots
// without offsets (the same graph-rows and Cypher, one executeWrite per batch), with the same batches
// and the same parallelism, measured in the same run, alternating which goes first, repeated after
// one uncounted pass of each; the ratio is of the medians. Goal (issue 9): at least 0.8.
//
//   npm run bench:p3                              100k entities, batches of 2,000, parallelism 1 and 2
//   npm run bench:p3 -- --entities 20000 --batch 1000 --parallel 1,2,4 --repeat 3
//
// Workload: 60% agents with 3 capabilities each (of 60 names), 20% teams of 3 members with a task,
// 20% tasks with their team and 2 required capabilities; keyed over 8 partitions per topic, one
// snapshot per entity (upserts/s = snapshots applied per second). A batch is up to --batch records of
// one partition; with parallelism N, worker i applies the partitions p with p % N == i (disjoint
// partitions: the runner's `concurrency`), so concurrent transactions share only Capability nodes and
// the agents that teams reference. Deadlocks are counted (the driver retries them inside executeWrite:
// each retry runs the transaction function again).
//
// The graph is deleted before every measured pass: run it on a Neo4j that holds nothing else (it
// clears every Agent, Team, Task and Capability node, like a sink reset). Last line: upserts_per_s=.
import type { Driver } from 'neo4j-driver'
import type { SinkMetrics } from '../config/metrics.js'
import { type AgentSnapshot, emptyAgent } from '../processors/entities/agents.js'
import { emptyTask, type TaskSnapshot } from '../processors/entities/tasks.js'
import { emptyTeam, type TeamSnapshot } from '../processors/entities/teams.js'
import { createNeo4jDriver } from '../sinks/neo4j/driver.js'
import { UPSERT_AGENTS, UPSERT_TASKS, UPSERT_TEAMS } from '../sinks/neo4j/graph-cypher.js'
import { type EntityKind, type EntitySnapshot, graphRows } from '../sinks/neo4j/graph-rows.js'
import { Neo4jSinkTarget } from '../sinks/neo4j/target.js'
import type { PartitionBatch } from '../sinks/runtime/target.js'
import { config, log, machineLoad, option } from './kafka-workload.js'

const ENTITIES = Number(option('entities', 'BENCH_P3_ENTITIES') ?? 100_000)
const BATCH = Number(option('batch', 'BENCH_P3_BATCH') ?? 2_000)
const PARALLEL = (option('parallel', 'BENCH_P3_PARALLEL') ?? '1,2').split(',').map(Number)
const REPEAT = Number(option('repeat', 'BENCH_P3_REPEAT') ?? 3)
const PARTITIONS = 8
const CAPABILITIES = 60
const RUN = Date.now().toString(36)
const TOPICS: Record<EntityKind, string> = {
  agents: `bench.p3.agents`,
  teams: `bench.p3.teams`,
  tasks: `bench.p3.tasks`,
}
const database = config.neo4j.database

function workload(): PartitionBatch<EntitySnapshot>[] {
  const agents = Math.round(ENTITIES * 0.6)
  const teams = Math.round(ENTITIES * 0.2)
  const tasks = ENTITIES - agents - teams
  const cap = (i: number) => ({ name: `cap-${i % CAPABILITIES}`, category: `cat-${i % 6}` })
  const perPartition = new Map<string, { topic: string; partition: number; values: EntitySnapshot[] }>()
  const add = (kind: EntityKind, index: number, value: EntitySnapshot) => {
    const partition = index % PARTITIONS
    const key = `${kind}:${partition}`
    let p = perPartition.get(key)
    if (!p) {
      p = { topic: TOPICS[kind], partition, values: [] }
      perPartition.set(key, p)
    }
    p.values.push(value)
  }
  for (let i = 0; i < agents; i++) {
    const a: AgentSnapshot = {
      ...emptyAgent(`agent-${i}`),
      status: 'IDLE',
      template_id: `template-${i % 20}`,
      version: 1 + (i % 3),
      name: `Agent ${i}`,
      model: 'model-a',
      capabilities: [cap(i), cap(i + 7), cap(i + 19)].sort((x, y) => (x.name < y.name ? -1 : 1)),
      created_at: 1_767_225_600_000 + i,
      updated_at: 1_767_225_600_000 + i,
      last_event_id: `e-${i}`,
      events: 1,
    }
    add('agents', i, a)
  }
  for (let i = 0; i < teams; i++) {
    const t: TeamSnapshot = {
      ...emptyTeam(`team-${i}`),
      status: 'FORMED',
      task_id: `task-${i % tasks}`,
      required_capabilities: [cap(i).name],
      members: [0, 1, 2].map((m) => ({
        agent_id: `agent-${(i * 3 + m) % agents}`,
        role: m === 0 ? ('LEADER' as const) : ('MEMBER' as const),
      })),
      formation_score: 0.9,
      updated_at: 1_767_225_600_000 + i,
      events: 2,
    }
    add('teams', i, t)
  }
  for (let i = 0; i < tasks; i++) {
    const k: TaskSnapshot = {
      ...emptyTask(`task-${i}`),
      status: 'ASSIGNED',
      priority: 'NORMAL',
      required_capabilities: [cap(i).name, cap(i + 3).name],
      token_budget: 10_000,
      team_id: `team-${i % teams}`,
      created_at: 1_767_225_600_000 + i,
      updated_at: 1_767_225_600_000 + i,
      events: 2,
    }
    add('tasks', i, k)
  }
  const batches: PartitionBatch<EntitySnapshot>[] = []
  for (const { topic, partition, values } of perPartition.values()) {
    for (let at = 0; at < values.length; at += BATCH) {
      const records = values.slice(at, at + BATCH).map((value, j) => ({
        offset: at + j,
        timestamp: 0,
        key: Buffer.from(idOf(value)),
        value,
      }))
      batches.push({ topic, partition, records, lastOffset: at + records.length - 1 })
    }
  }
  // Agents first, then teams, then tasks (the order a replay of the three topics roughly gives).
  const order = [TOPICS.agents, TOPICS.teams, TOPICS.tasks]
  return batches.sort((a, b) => order.indexOf(a.topic) - order.indexOf(b.topic))
}

function idOf(v: EntitySnapshot): string {
  if ('agent_id' in v) return v.agent_id
  return 'agent_ids' in v ? v.task_id : v.team_id
}

const kindOf = (topic: string): EntityKind =>
  topic === TOPICS.agents ? 'agents' : topic === TOPICS.teams ? 'teams' : 'tasks'

let deadlocks = 0

// The baseline: the same rows and Cypher in one executeWrite per batch, no offsets read or written.
async function rawApply(driver: Driver, batch: PartitionBatch<EntitySnapshot>): Promise<void> {
  const rows = graphRows([
    { topic: batch.topic, kind: kindOf(batch.topic), records: batch.records, stored: null },
  ])
  const session = driver.session({ database })
  try {
    let attempts = 0
    await session.executeWrite(async (tx) => {
      if (attempts++ > 0) deadlocks++
      if (rows.agents.upserts.length > 0) await tx.run(UPSERT_AGENTS, { rows: rows.agents.upserts })
      if (rows.teams.upserts.length > 0) await tx.run(UPSERT_TEAMS, { rows: rows.teams.upserts })
      if (rows.tasks.upserts.length > 0) await tx.run(UPSERT_TASKS, { rows: rows.tasks.upserts })
    })
  } finally {
    await session.close()
  }
}

/** Runs the batches with `parallel` workers over disjoint partitions; returns upserts/s. */
async function pass(
  batches: readonly PartitionBatch<EntitySnapshot>[],
  parallel: number,
  apply: (batch: PartitionBatch<EntitySnapshot>) => Promise<void>,
): Promise<number> {
  const started = performance.now()
  await Promise.all(
    Array.from({ length: parallel }, async (_, worker) => {
      // Topic by topic (all workers finish agents before teams), as partitions of one topic.
      for (const topic of [TOPICS.agents, TOPICS.teams, TOPICS.tasks]) {
        for (const b of batches) if (b.topic === topic && b.partition % parallel === worker) await apply(b)
      }
    }),
  )
  return ENTITIES / ((performance.now() - started) / 1000)
}

async function clear(driver: Driver, sink: string): Promise<void> {
  await driver.executeQuery('MATCH (o:SinkOffset {sink: $sink}) DELETE o', { sink }, { database })
  // CALL { } IN TRANSACTIONS runs only in an auto-commit transaction (session.run).
  const session = driver.session({ database })
  try {
    for (const label of ['Agent', 'Team', 'Task', 'Capability']) {
      await session.run(`MATCH (n:${label}) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS`)
    }
  } finally {
    await session.close()
  }
}

function countingMetrics(): SinkMetrics {
  const noop = () => {}
  return {
    applied: noop,
    batch: noop,
    retry: noop,
    deadLetter: noop,
    neo4jConnectionFailure: noop,
    neo4jPool: noop,
    archiveUploaded: noop,
    // Each run of the transaction function reads the offsets once: more runs than applies are retries.
    neo4jQuery: (operation: string) => {
      if (operation === 'offsets') offsetReads++
    },
  } as unknown as SinkMetrics
}
let offsetReads = 0

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length / 2
  return Number.isInteger(mid)
    ? ((s[mid - 1] as number) + (s[mid] as number)) / 2
    : (s[Math.floor(mid)] as number)
}

async function main(): Promise<void> {
  const driver = createNeo4jDriver(config.neo4j)
  const sink = `bench-p3-${RUN}`
  const target = new Neo4jSinkTarget({
    name: sink,
    neo4j: config.neo4j,
    driver,
    topics: TOPICS,
    decode: () => {
      throw new Error('not used')
    },
    metrics: countingMetrics(),
  })
  await target.open()
  const batches = workload()
  log(`${machineLoad()}; neo4j ${config.neo4j.uri}`)
  log(`${ENTITIES} entities, ${batches.length} batches of up to ${BATCH}, parallelism ${PARALLEL.join(',')}`)
  let last = 0
  const lines: string[] = []
  try {
    for (const parallel of PARALLEL) {
      const raw: number[] = []
      const guarded: number[] = []
      const rawDeadlocks: number[] = []
      const guardedRetries: number[] = []
      // One pass of each first, not counted: the server plans and caches the queries.
      await clear(driver, sink)
      await pass(batches, parallel, (b) => rawApply(driver, b))
      await clear(driver, sink)
      await pass(batches, parallel, (b) => target.apply([b]))
      for (let r = 0; r < REPEAT; r++) {
        // Alternate which goes first: the pass right after a clear pays for the server's cleanup.
        const runRaw = async () => {
          await clear(driver, sink)
          deadlocks = 0
          raw.push(await pass(batches, parallel, (b) => rawApply(driver, b)))
          rawDeadlocks.push(deadlocks)
        }
        const runGuarded = async () => {
          await clear(driver, sink)
          offsetReads = 0
          guarded.push(await pass(batches, parallel, (b) => target.apply([b])))
          guardedRetries.push(offsetReads - batches.length)
          // The guard really held: every partition's offset stored.
          const { records } = await driver.executeQuery(
            'MATCH (o:SinkOffset {sink: $sink}) RETURN count(o) AS n',
            { sink },
            { database },
          )
          const partitions = new Set(batches.map((b) => `${b.topic}:${b.partition}`)).size
          if (Number(records[0]?.get('n')) !== partitions)
            throw new Error(`${Number(records[0]?.get('n'))} stored offsets, expected ${partitions}`)
        }
        if (r % 2 === 0) {
          await runRaw()
          await runGuarded()
        } else {
          await runGuarded()
          await runRaw()
        }
        log(
          `  parallel ${parallel} #${r + 1}: raw ${Math.round(raw[r] as number)}/s (${rawDeadlocks[r]} retried), ` +
            `guarded ${Math.round(guarded[r] as number)}/s (${guardedRetries[r]} retried)`,
        )
      }
      const ratio = median(guarded) / median(raw)
      last = median(guarded)
      const line =
        `parallel ${parallel}: raw ${Math.round(median(raw))} upserts/s, exactly-once ${Math.round(median(guarded))} ` +
        `upserts/s, ratio ${ratio.toFixed(2)} (medians of ${REPEAT}); deadlock retries raw ` +
        `${rawDeadlocks.join('/')}, guarded ${guardedRetries.join('/')}`
      lines.push(line)
    }
    await clear(driver, sink)
  } finally {
    await target.close()
    await driver.close()
  }
  log(machineLoad())
  for (const line of lines) log(line)
  process.stdout.write(`upserts_per_s=${Math.round(last)}\n`)
}

await main()
