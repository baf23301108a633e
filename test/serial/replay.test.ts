// Replay from earliest (ops/replay.ts) on the real stack, with this file's topics, groups, sink ids,
// Redis prefix and bucket: generated events run once through the processor into Neo4j, Redis and the
// archive; a replay is refused while a sink runs, saying the pipeline must be stopped; then the replay
// from Kafka rebuilds a state whose deterministic part equals the state before (with progress up to
// every input event), and the replay from the archive (its records re-published into replay topics)
// rebuilds the same deterministic state as the replay from Kafka.
//
// Serial: the Neo4j sink's reset clears the graph every file shares. The digests cover only this
// file's entity ids (graph scope `ids`); Redis is this file's prefix.
import type { Admin } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../cli/exit-codes.js'
import type { Config, SinkName } from '../../config/config.js'
import { createAdmin } from '../../kafka/clients.js'
import {
  type ArchiveReplayResult,
  type ReplayProgress,
  type ReplayResult,
  replayFromArchive,
  replayPipeline,
} from '../../ops/replay.js'
import { compareDigests, type GraphScope } from '../../ops/replay-digest.js'
import { ResetRefusedError } from '../../ops/reset.js'
import { RegistryClient, valueSubject } from '../../schemas/index.js'
import type { Neo4jSinkTarget } from '../../sinks/neo4j/target.js'
import type { RedisSinkTarget } from '../../sinks/redis/target.js'
import { type RunningSinks, startSinks } from '../../sinks/run-sinks.js'
import { TestApi } from '../support/api.js'
import { runCli } from '../support/cli.js'
import { keysUnder } from '../support/redis.js'
import { removeGraphData, SinkPipeline } from '../support/sink-pipeline.js'

const pipeline = new SinkPipeline(import.meta.url)
const EVENTS = 3000
const groupPrefix = `${pipeline.prefix}-sink`
const redisPrefix = `${pipeline.prefix}:`
const sinkId = (sink: SinkName) => `${pipeline.prefix}-${sink}`
const config: Config = {
  ...pipeline.config,
  s3: { ...pipeline.config.s3, bucket: pipeline.bucket },
  sinks: { ...pipeline.config.sinks, groupPrefix, archiveRangeRecords: 500, archiveIdleMs: 1000 },
}
const runner = { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 }
const appGroup = pipeline.processor.applicationId

let admin: Admin
let neo4j: Neo4jSinkTarget
let redis: RedisSinkTarget
let sinks: RunningSinks | undefined
let graph: GraphScope & { scope: 'ids' }
let fromKafka: ReplayResult | undefined

beforeAll(async () => {
  await pipeline.setup()
  admin = createAdmin(pipeline.config.kafka, 'replay-test')
  ;({ neo4j, redis } = await pipeline.targets({
    neo4j: sinkId('neo4j'),
    redis: sinkId('redis'),
    redisPrefix,
  }))
}, 120_000)

afterAll(async () => {
  await sinks?.close().catch(() => {})
  // Every key under the prefix: the command's run (third test) keeps its offsets under sink id `redis`.
  if (redis) {
    const keys = await keysUnder(redis.redis, redisPrefix)
    for (let i = 0; i < keys.length; i += 500) await redis.redis.del(...keys.slice(i, i + 500))
  }
  await removeGraphData(pipeline.config, graph?.ids, sinkId('neo4j'))
  await neo4j?.close()
  await redis?.close()
  await admin
    ?.deleteGroups({ groups: [appGroup, ...['neo4j', 'redis', 'archive'].map((s) => `${groupPrefix}-${s}`)] })
    .catch(() => {})
  await admin?.close()
  const registry = new RegistryClient({ url: pipeline.config.schemaRegistry.url })
  for (const topic of Object.values(pipeline.topics))
    await registry.deleteSubject(valueSubject(`${topic}.replay`), true).catch(() => {})
  // Every topic under the prefix (the replay topics too) and the bucket.
  await pipeline.cleanUp()
}, 120_000)

const replayOptions = () => ({
  processor: pipeline.processor,
  groupPrefix,
  redisPrefix,
  sinkId,
  runner,
  graph,
  pollMs: 500,
  timeoutMs: 90_000,
})

function deterministicSummary(result: ReplayResult) {
  return result.comparison?.deterministic
    .filter((t) => t.changed + t.missing + t.added > 0)
    .map(
      (t) =>
        `${t.table}: ${t.changed} changed, ${t.missing} missing, ${t.added} added (${JSON.stringify(t.examples)})`,
    )
}

describe('replay from earliest', () => {
  it('is refused while a sink runs; from Kafka, rebuilds the deterministic state as it was, with progress', async () => {
    await pipeline.startProcessor()
    await pipeline.produce(EVENTS, 5000)
    await pipeline.finishProcessor(4000)
    const log = await pipeline.readLog([...new Set([...neo4j.topics, ...redis.topics])])
    const keys = async (name: 'agents' | 'teams' | 'tasks') =>
      [...(await pipeline.lastValues(name, log)).values()].map((v) => v.key.toString())
    graph = {
      scope: 'ids',
      ids: { agents: await keys('agents'), teams: await keys('teams'), tasks: await keys('tasks') },
    }

    sinks = await startSinks(config, {
      sinks: ['neo4j', 'redis', 'archive'],
      processor: pipeline.processor,
      metricsPort: 0,
      redisPrefix,
      sinkId,
      runner,
    })
    expect(await pipeline.sinksDifferences(neo4j, redis, log)).toEqual([])
    // The archive complete (every range closed): the second test replays from it.
    await expect.poll(() => pipeline.archiveDifferences(), { timeout: 30_000, interval: 1000 }).toEqual([])

    const refused = await replayPipeline(config, replayOptions()).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ResetRefusedError)
    expect((refused as ResetRefusedError).message).toContain('a replay needs the pipeline stopped')
    expect((refused as ResetRefusedError).groups.map((g) => g.groupId).sort()).toEqual([
      `${groupPrefix}-neo4j`,
      `${groupPrefix}-redis`,
    ])
    await sinks.close()
    sinks = undefined

    const seen: ReplayProgress[] = []
    fromKafka = await replayPipeline(config, { ...replayOptions(), onProgress: (p) => seen.push(p) })
    expect(deterministicSummary(fromKafka)).toEqual([])
    expect(fromKafka.comparison?.deterministicEqual).toBe(true)
    // Every input record of the log replayed (duplicates included: they are records too).
    const inputRecords = (await pipeline.readLog(Object.values(pipeline.topics))).values()
    expect(fromKafka.events).toBe([...inputRecords].reduce((n, r) => n + r.length, 0))
    // The entity tables compared on both sinks, non-empty, all equal.
    for (const table of [
      'neo4j:agents',
      'neo4j:teams',
      'neo4j:tasks',
      'redis:agents',
      'redis:teams',
      'redis:tasks',
    ]) {
      const t = fromKafka.comparison?.deterministic.find((d) => d.table === table)
      expect(t, table).toBeDefined()
      expect(t?.before, table).toBeGreaterThan(0)
      expect(t?.equal, table).toBe(t?.before)
    }
    expect(fromKafka.comparison?.deterministic.map((t) => t.output)).toContain('tokensByAgent')
    expect(fromKafka.comparison?.timingDependent.map((t) => t.output)).toContain('processingLatency')
    // Progress: the processor phase ends at every input event, the sinks' at every output record.
    const processor = seen.filter((p) => p.phase === 'processor')
    expect(processor.at(-1)).toMatchObject({
      done: fromKafka.events,
      total: fromKafka.events,
      unit: 'events',
    })
    expect(processor.some((p) => p.perSecond > 0)).toBe(true)
    const sinkPhase = seen.filter((p) => p.phase === 'sinks')
    expect(sinkPhase.at(-1)?.done).toBe(sinkPhase.at(-1)?.total)
    expect(fromKafka.outputRecords).toBeGreaterThan(0)
    expect(seen.map((p) => p.phase)).toEqual(
      expect.arrayContaining(['snapshot-before', 'reset', 'snapshot-after']),
    )
  }, 180_000)

  it('from the archive, rebuilds the same deterministic state as from Kafka', async () => {
    expect(fromKafka).toBeDefined()
    const result: ArchiveReplayResult = await replayFromArchive(config, {
      ...replayOptions(),
      bucket: pipeline.bucket,
    })
    const inputs = Object.values(pipeline.topics)
    expect(result.republished.map((r) => [r.input, r.replayTopic, r.notArchived])).toEqual(
      inputs.map((t) => [t, `${t}.replay`, 0]),
    )
    expect(result.republished.reduce((n, r) => n + r.records, 0)).toBe(fromKafka?.events)
    expect(result.inputTopics).toEqual(inputs.map((t) => `${t}.replay`))
    // Its "before" is the state the replay from Kafka rebuilt.
    expect(deterministicSummary(result)).toEqual([])
    const kafkaAfter = fromKafka?.after
    const archiveAfter = result.after
    if (!kafkaAfter || !archiveAfter) throw new Error('no digests')
    const same = compareDigests(kafkaAfter, archiveAfter)
    expect(same.deterministicEqual).toBe(true)
    expect(same.deterministic.find((t) => t.table === 'neo4j:tasks')?.equal).toBeGreaterThan(0)
  }, 180_000)
  it('as `agent-party replay`: a progress bar, the report, exit 0 when the deterministic state is equal', async () => {
    // Redis only: the command's graph digest would cover the whole shared graph.
    const env = pipeline.sinkEnv({
      STATE_DIR: pipeline.config.streams.stateDir ?? '',
      LOG_LEVEL: 'warn',
    })
    const result = await runCli(['replay', '--sinks', 'redis', '--timeout', '90', '--json'], env, 150_000)
    expect(result.code, result.stderr).toBe(EXIT.OK)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ from: 'kafka', applicationId: appGroup, events: fromKafka?.events })
    expect(report.comparison.deterministicEqual).toBe(true)
    expect(report.comparison.deterministic.map((t: { table: string }) => t.table)).toContain('redis:agents')
    expect(report.comparison.deterministic.every((t: { store: string }) => t.store === 'redis')).toBe(true)
    expect(result.stderr).toContain('rebuilding: the processor reads every input event again')
    expect(result.stderr).toMatch(/events \d[\d,]* events\/s/)
  }, 180_000)

  it('through the API: POST /admin/replay answers 202 with the job, which shows progress, then its outcome', async () => {
    const env = pipeline.sinkEnv({
      STATE_DIR: pipeline.config.streams.stateDir ?? '',
      LOG_LEVEL: 'warn',
    })
    const api = await TestApi.start(env, { processor: pipeline.processor, lag: false })
    try {
      const started = await api.request('POST', '/admin/replay', {
        role: 'admin',
        json: { sinks: ['redis'] },
      })
      expect(started.status).toBe(202)
      expect(started.headers.get('location')).toBe(`/admin/replay/${started.body.id}`)
      expect(started.body).toMatchObject({ state: 'running', request: { from: 'kafka', sinks: ['redis'] } })
      // One at a time.
      const second = await api.request('POST', '/admin/replay', { role: 'admin', json: { sinks: ['redis'] } })
      expect(second.status).toBe(409)
      expect(second.body.code).toBe('REPLAY_RUNNING')
      const phases = new Set<string>()
      let job = started.body
      const deadline = Date.now() + 150_000
      while (job.state === 'running' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500))
        job = (await api.request('GET', `/admin/replay/${started.body.id}`, { role: 'admin' })).body
        if (job.progress) phases.add(job.progress.phase)
      }
      expect(job.state, job.error ?? '').toBe('done')
      expect(job.outcome).toMatchObject({
        events: fromKafka?.events,
        deterministicEqual: true,
        differing: [],
      })
      expect(phases.has('processor') || phases.has('sinks')).toBe(true)
    } finally {
      await api.close()
    }
  }, 180_000)
})
