// The sink runner against the real broker and the real Redis target: everything produced is applied
// exactly once (the target's audit), undecodable and refused records go to the dead-letter topic with
// their reason while the rest of their batch is applied, a restarted runner resumes from the offsets
// stored with the data (not from the group's), the group's offsets follow for lag tools, aborted
// transactions are never applied, and two runners of one group share the partitions.
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createAdmin, createProducer, createTransactionalProducer } from '../../kafka/clients.js'
import { readDeadLetterHeaders } from '../../kafka/dead-letter.js'
import { partitionKey } from '../../kafka/partition-fetcher.js'
import { describeTopics, type TopicDescription } from '../../kafka/topics.js'
import { resolveProcessorConfig } from '../../processors/config.js'
import type { AgentSnapshot, AgentState } from '../../processors/entities/agents.js'
import { createProcessorSerdes, type ProcessorSerdes } from '../../processors/serdes.js'
import { outputId } from '../../sinks/redis/keys.js'
import { RedisReadModel } from '../../sinks/redis/read-model.js'
import { type OffsetMode, RedisSinkTarget } from '../../sinks/redis/target.js'
import type { RedisWrite } from '../../sinks/redis/writes.js'
import {
  SINK_DEAD_LETTER_CODES,
  SinkRunner,
  type SinkRunnerOptions,
} from '../../sinks/runtime/sink-runner.js'
import type { PartitionAudit } from '../../sinks/runtime/target.js'
import { createTestTopics, deleteTestTopics, type RawRecord, readTopicRaw } from '../support/kafka.js'
import { keysUnder } from '../support/redis.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const run = testPrefix(import.meta.url)
const config = stackConfig()
const redis = new Redis(config.redis.url)
const WAIT = { timeout: 25_000, interval: 100 }

interface Scenario {
  readonly name: string
  readonly topic: string
  readonly partitions: number
  readonly group: string
  readonly sink: string
  readonly prefix: string
  readonly serdes: ProcessorSerdes
  /** A target of the same sink that never runs: audits while runners come and go, resets at the end. */
  readonly observer: RedisSinkTarget
  readonly read: RedisReadModel
  /** The latest snapshot produced (and committed) per agent: what the read model must hold. */
  readonly latest: Map<string, AgentSnapshot>
}

const scenarios: Scenario[] = []
const runners: SinkRunner<RedisWrite>[] = []

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop(10_000).catch(() => {})))
  for (const sc of scenarios) {
    await sc.observer.reset().catch(() => {})
    await sc.observer.close()
  }
  const left = await keysUnder(redis, run)
  if (left.length > 0) await redis.unlink(...left)
  redis.disconnect()
  await deleteTestTopics(
    config,
    scenarios.flatMap((sc) => [sc.topic, `${sc.group}-dlq`]),
  )
})

async function scenario(name: string, partitions: number): Promise<Scenario> {
  const topic = `${run}-${name}.${outputId('agents')}`
  await createTestTopics(config, [topic], partitions)
  const serdes = await createProcessorSerdes(resolveProcessorConfig({ outputTopics: { agents: topic } }), {
    encoding: 'single-object',
  })
  const prefix = `${run}-${name}:`
  const sc: Scenario = {
    name,
    topic,
    partitions,
    group: `${run}-${name}-group`,
    sink: `runner-${name}`,
    prefix,
    serdes,
    observer: undefined as unknown as RedisSinkTarget,
    read: new RedisReadModel(redis, prefix),
    latest: new Map(),
  }
  const observer = newTarget(sc)
  await observer.open()
  const full = { ...sc, observer }
  scenarios.push(full)
  return full
}

function newTarget(sc: Omit<Scenario, 'observer'>, offsetMode: OffsetMode = 'guard'): RedisSinkTarget {
  return new RedisSinkTarget({
    offsetMode,
    url: config.redis.url,
    serdes: sc.serdes,
    name: sc.sink,
    prefix: sc.prefix,
    outputTopics: { agents: sc.topic },
    outputs: ['agents'],
  })
}

/**
 * A started runner of the scenario's sink. `unguarded`: its target applies and counts every record it
 * is given, even at or below the stored offset, so the audit shows any record the runner itself hands
 * over twice (the guard would hide it).
 */
async function startRunner(
  sc: Scenario,
  options: Partial<SinkRunnerOptions<RedisWrite>> = {},
  offsetMode: OffsetMode = 'guard',
): Promise<SinkRunner<RedisWrite>> {
  const runner = new SinkRunner<RedisWrite>({
    kafka: config.kafka,
    target: newTarget(sc, offsetMode),
    groupId: sc.group,
    batchSize: 50,
    lingerMs: 10,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    retryInitialMs: 50,
    retryMaxMs: 1000,
    ...options,
  })
  runners.push(runner)
  await runner.start()
  return runner
}

// --- records -------------------------------------------------------------------------------------

const STATES: AgentState[] = ['IDLE', 'BUSY', 'OFFLINE']

function agent(id: string, n: number): AgentSnapshot {
  return {
    agent_id: id,
    status: STATES[n % STATES.length] as AgentState,
    template_id: 'researcher',
    version: 1,
    name: `Agent ${id}`,
    model: null,
    capabilities: [{ name: n % 2 === 0 ? 'search' : 'code-review', category: 'research' }],
    terminated_reason: null,
    created_at: 1_000,
    updated_at: 1_000 + n,
    last_event_id: `e${n}`,
    events: n,
    team_id: null,
    team_role: null,
    team_since: null,
  }
}

interface Message {
  topic: string
  key?: Buffer
  value?: Buffer
  partition?: number
}

/** `count` snapshots over `agents` agents (ids `<tag>-<i>`), in order; `latest` follows if committed. */
function snapshots(sc: Scenario, tag: string, count: number, agents: number, committed = true): Message[] {
  return Array.from({ length: count }, (_, n) => {
    const id = `${tag}-${n % agents}`
    const snapshot = agent(id, n)
    if (committed) sc.latest.set(id, snapshot)
    return {
      topic: sc.topic,
      key: Buffer.from(id),
      value: sc.serdes.output<AgentSnapshot>('agents').serialize(sc.topic, snapshot) as Buffer,
    }
  })
}

/** Sends with a plain idempotent producer (one send per list, in order), as the processors' output would be. */
async function produce(...sends: Message[][]): Promise<void> {
  const producer = createProducer(config.kafka, { clientId: `${run}-upstream` })
  try {
    for (const messages of sends) await producer.send({ messages })
  } finally {
    await producer.close()
  }
}

/** The topic as a read_committed reader sees it: every record, with its partition and offset. */
async function logOf(sc: Scenario, expected: number): Promise<RawRecord[]> {
  const records = await readTopicRaw(config, sc.topic, {
    expected,
    isolation: 'read_committed',
    quietMs: 300,
  })
  expect(records).toHaveLength(expected)
  return records
}

/** Per partition: the offset of its last record, and its records minus those dead-lettered. */
function expectedAudit(
  sc: Scenario,
  log: readonly RawRecord[],
  deadLettered: readonly RawRecord[] = [],
): Record<string, PartitionAudit> {
  const out: Record<string, PartitionAudit> = {}
  for (let partition = 0; partition < sc.partitions; partition++) {
    const mine = log.filter((r) => r.partition === partition)
    const dead = deadLettered.filter((r) => r.partition === partition).length
    out[partitionKey(sc.topic, partition)] = {
      offset: mine.length === 0 ? undefined : Math.max(...mine.map((r) => Number(r.offset))),
      applied: mine.length - dead,
    }
  }
  return out
}

async function audit(sc: Scenario): Promise<Record<string, PartitionAudit>> {
  const partitions = Array.from({ length: sc.partitions }, (_, partition) => ({ topic: sc.topic, partition }))
  return Object.fromEntries(await sc.observer.audit(partitions))
}

async function readModel(sc: Scenario, ids: Iterable<string>): Promise<Record<string, AgentSnapshot | null>> {
  const out: Record<string, AgentSnapshot | null> = {}
  for (const id of ids) out[id] = await sc.read.getAgent(id)
  return out
}

/** The group's committed offsets (what lag tools read), per partition; -1 when none. */
async function groupOffsets(sc: Scenario): Promise<Record<string, number>> {
  const admin = createAdmin(config.kafka, `${run}-lag`)
  try {
    const [group] = await admin.listConsumerGroupOffsets({
      groups: [
        {
          groupId: sc.group,
          topics: [{ name: sc.topic, partitionIndexes: Array.from({ length: sc.partitions }, (_, i) => i) }],
        },
      ],
    })
    const out: Record<string, number> = {}
    for (const t of group?.topics ?? [])
      for (const p of t.partitions) out[partitionKey(t.name, p.partitionIndex)] = Number(p.committedOffset)
    return out
  } finally {
    await admin.close()
  }
}

function nextOffsets(expected: Record<string, PartitionAudit>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(expected).map(([k, a]) => [k, a.offset === undefined ? -1 : a.offset + 1]),
  )
}

/** Waits until the audit says everything in `log` was applied once, then checks the read model. */
async function expectAllApplied(
  sc: Scenario,
  log: readonly RawRecord[],
  deadLettered: readonly RawRecord[] = [],
): Promise<void> {
  const expected = expectedAudit(sc, log, deadLettered)
  await expect.poll(() => audit(sc), WAIT).toEqual(expected)
  expect(await readModel(sc, sc.latest.keys())).toEqual(Object.fromEntries(sc.latest))
}

async function deadLetters(runner: SinkRunner<RedisWrite>, expected: number): Promise<RawRecord[]> {
  return readTopicRaw(config, runner.deadLetterTopic, { expected, isolation: 'read_committed', quietMs: 500 })
}

async function describeDeadLetterTopic(
  runner: SinkRunner<RedisWrite>,
): Promise<TopicDescription | undefined> {
  const admin = createAdmin(config.kafka, 'test')
  try {
    return (await describeTopics(admin, [runner.deadLetterTopic]))[0]
  } finally {
    await admin.close()
  }
}

// --- tests ---------------------------------------------------------------------------------------

describe('SinkRunner with the Redis target on the real broker', () => {
  it.each<OffsetMode>(['guard', 'unguarded'])(
    'applies everything produced exactly once, and commits the group offsets for lag tools (%s target)',
    async (mode) => {
      const sc = await scenario(`all-${mode}`, 3)
      await produce(snapshots(sc, 'a', 400, 37))
      const log = await logOf(sc, 400)
      const runner = await startRunner(sc, {}, mode)
      expect(runner.status().state).toBe('RUNNING')

      await expectAllApplied(sc, log)
      const expected = expectedAudit(sc, log)
      await expect.poll(() => groupOffsets(sc), WAIT).toEqual(nextOffsets(expected))
      expect(runner.status().applied).toEqual(
        new Map(Object.entries(expected).map(([k, a]) => [k, a.offset as number])),
      )
      expect(await deadLetters(runner, 0)).toEqual([])
      await runner.stop()
      expect(runner.state).toBe('STOPPED')
    },
  )

  it('dead-letters an undecodable record with its source and reason, applies the records after it, covers its offset', async () => {
    const sc = await scenario('undecodable', 2)
    const poison = (id: string, partition: number): Message => ({
      topic: sc.topic,
      key: Buffer.from(id),
      value: Buffer.from('not avro'),
      partition,
    })
    // One in the middle of partition 0, one last in partition 1 (only an offset to cover there).
    await produce(snapshots(sc, 'b', 60, 11), [poison('poison-1', 0)], snapshots(sc, 'c', 60, 13), [
      poison('poison-2', 1),
    ])
    const log = await logOf(sc, 122)
    const bad = log.find((r) => r.key?.toString() === 'poison-1') as RawRecord
    const last = log.find((r) => r.key?.toString() === 'poison-2') as RawRecord
    expect(log.filter((r) => r.partition === 0 && r.offset > bad.offset).length).toBeGreaterThan(0)
    expect(log.filter((r) => r.partition === 1 && r.offset > last.offset)).toEqual([])

    const runner = await startRunner(sc)
    await expectAllApplied(sc, log, [bad, last])
    expect(await sc.read.getAgent('poison-1')).toBeNull()

    const letters = await deadLetters(runner, 2)
    expect(letters).toHaveLength(2)
    expect(letters.map((l) => readDeadLetterHeaders(l.headers)['dead-letter.source.offset']).sort()).toEqual(
      [String(bad.offset), String(last.offset)].sort(),
    )
    const letter = letters.find((l) => l.key?.toString() === 'poison-1') as RawRecord
    expect(readDeadLetterHeaders(letter.headers)).toMatchObject({
      'dead-letter.code': SINK_DEAD_LETTER_CODES.undecodable,
      'dead-letter.source.topic': sc.topic,
      'dead-letter.source.partition': '0',
      'dead-letter.source.offset': String(bad.offset),
      'dead-letter.reason': expect.stringMatching(/\S/),
    })
    expect(letter.key?.toString()).toBe('poison-1')
    expect(letter.value?.toString()).toBe('not avro')
    // Created with no time retention: a dead letter keeps its record's (possibly old) timestamp.
    expect(await describeDeadLetterTopic(runner)).toMatchObject({
      partitions: 1,
      configs: { 'retention.ms': '-1' },
    })
    await runner.stop()
  })

  it('finds a record the target refuses by splitting its batch: it alone is dead-lettered, the rest applied', async () => {
    const sc = await scenario('rejected', 2)
    // A tombstone without a key on the agents topic: the Redis target cannot tell which agent to delete.
    const keyless: Message = { topic: sc.topic, partition: 1 }
    await produce(snapshots(sc, 'd', 70, 17), [keyless], snapshots(sc, 'e', 70, 19))
    const log = await logOf(sc, 141)
    const bad = log.find((r) => r.key === undefined) as RawRecord
    expect(bad.value).toBeUndefined()
    // Its batch has other records of its partition on both sides (all are fetched at once below).
    const sameBatch = log.filter((r) => r.partition === 1 && r.offset !== bad.offset)
    expect(sameBatch.some((r) => r.offset < bad.offset)).toBe(true)
    expect(sameBatch.some((r) => r.offset > bad.offset)).toBe(true)

    // A dead-letter topic the operator made (more partitions, a retention of their own) is kept as it is.
    await createTestTopics(config, [`${sc.group}-dlq`], 2, { 'retention.ms': '3600000' })
    const runner = await startRunner(sc)
    await expectAllApplied(sc, log, [bad])
    expect(await describeDeadLetterTopic(runner)).toMatchObject({
      partitions: 2,
      configs: { 'retention.ms': '3600000' },
    })

    const letters = await deadLetters(runner, 1)
    expect(letters).toHaveLength(1)
    const letter = letters[0] as RawRecord
    expect(readDeadLetterHeaders(letter.headers)).toMatchObject({
      'dead-letter.code': SINK_DEAD_LETTER_CODES.rejected,
      'dead-letter.source.topic': sc.topic,
      'dead-letter.source.partition': '1',
      'dead-letter.source.offset': String(bad.offset),
      'dead-letter.reason': expect.stringMatching(/tombstone without a key/),
    })
    expect(runner.status().state).toBe('RUNNING')
    await runner.stop()
  })

  it('resumes from the stored offsets after a stop (not from the group offsets), and applies what came meanwhile', async () => {
    // Unguarded targets: a record handed over again after the restart would be applied and counted.
    const sc = await scenario('restart', 3)
    await produce(snapshots(sc, 'f', 150, 23))
    const first = await startRunner(sc, {}, 'unguarded')
    await expectAllApplied(sc, await logOf(sc, 150))
    await expect.poll(() => groupOffsets(sc), WAIT).toEqual(nextOffsets(await audit(sc)))
    await first.stop()
    expect(first.state).toBe('STOPPED')

    // While stopped: new records (updates of the same agents and new ones), and the group's offsets
    // rewound to the start. A runner that took its positions from the group would apply all again.
    await produce(snapshots(sc, 'f', 90, 29))
    const admin = createAdmin(config.kafka, `${run}-rewind`)
    try {
      await admin.alterConsumerGroupOffsets({
        groupId: sc.group,
        topics: [
          {
            name: sc.topic,
            partitionOffsets: Array.from({ length: sc.partitions }, (_, partition) => ({
              partition,
              offset: 0n,
            })),
          },
        ],
      })
    } finally {
      await admin.close()
    }

    const second = await startRunner(sc, {}, 'unguarded')
    const log = await logOf(sc, 240)
    await expectAllApplied(sc, log)
    await expect.poll(() => groupOffsets(sc), WAIT).toEqual(nextOffsets(expectedAudit(sc, log)))
    await second.stop()
  })

  it('never applies the records of an aborted transaction (read_committed)', async () => {
    const sc = await scenario('txn', 2)
    const runner = await startRunner(sc)
    const producer = createTransactionalProducer(config.kafka, `${run}-txn`)
    try {
      const committed = await producer.beginTransaction()
      await committed.send({ messages: snapshots(sc, 'g', 40, 9) })
      await committed.commit()
      // Same agents with other values, and agents only this transaction knows: none may show.
      const aborted = await producer.beginTransaction()
      await aborted.send({
        messages: [...snapshots(sc, 'g', 30, 9, false), ...snapshots(sc, 'ghost', 10, 5, false)],
      })
      await aborted.abort()
      const last = await producer.beginTransaction()
      await last.send({ messages: snapshots(sc, 'h', 25, 7) })
      await last.commit()
    } finally {
      await producer.close()
    }
    const log = await logOf(sc, 65)
    await expectAllApplied(sc, log)
    expect(await readModel(sc, ['ghost-0', 'ghost-1', 'ghost-2', 'ghost-3', 'ghost-4'])).toEqual({
      'ghost-0': null,
      'ghost-1': null,
      'ghost-2': null,
      'ghost-3': null,
      'ghost-4': null,
    })
    await runner.stop()
  })

  it('shares the partitions between two runners of one group, which apply everything exactly once', async () => {
    const sc = await scenario('pair', 4)
    const all = Array.from({ length: 4 }, (_, partition) => partitionKey(sc.topic, partition))
    const owned = (r: SinkRunner<RedisWrite>) =>
      r
        .status()
        .assigned.map((p) => partitionKey(p.topic, p.partition))
        .sort()

    const one = await startRunner(sc)
    await expect.poll(() => owned(one), WAIT).toEqual(all)
    await produce(snapshots(sc, 'i', 200, 31))
    await expectAllApplied(sc, await logOf(sc, 200))

    // The second one joins while records keep coming.
    const joining = startRunner(sc)
    await produce(snapshots(sc, 'i', 100, 41))
    const two = await joining
    await expect
      .poll(() => [owned(one).length, owned(two).length, [...owned(one), ...owned(two)].sort()], WAIT)
      .toEqual([2, 2, all])
    await produce(snapshots(sc, 'j', 200, 43))
    await expectAllApplied(sc, await logOf(sc, 500))
    // Each applies its own half only.
    expect(owned(one).every((k) => two.status().applied.get(k) === undefined)).toBe(true)
    expect(owned(two).every((k) => one.status().applied.get(k) === undefined)).toBe(true)
    await Promise.all([one.stop(), two.stop()])
  })
})
