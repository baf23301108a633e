// P6 (issue 11, "Benchmark"): replay N events from earliest into rebuilt sinks. Generated events are
// produced into this run's own input topics, the pipeline runs once over them (replayPipeline without
// a comparison: on fresh topics it is the normal run), then the timed replay: reset, the processor
// reading every input event again, the Neo4j and Redis sinks applying the rebuilt results; each phase
// timed, events/s over the rebuild (processor + sinks) and over reset + rebuild. Goal: 1M in <= 60 s.
//
//   npm run bench:p6                          1M events (about 10 min on this machine today)
//   npm run bench:p6 -- --events 100000       fewer
//   npm run bench:p6 -- --compare             also digest the sinks before and after and compare them
//   npm run bench:p6 -- --sinks redis         only that sink (the Neo4j sink's reset clears the whole graph)
//   npm run bench:p6 -- --keep                leave the run's topics, groups, keys and nodes
//
// Names: topics `bench.p6.<run>.<family>` and `bench.p6.<run>-<output>` (8 partitions, as provisioned;
// system_events 4), application id `bench.p6.<run>-app`, sink groups `bench.p6.<run>-sink-<sink>`,
// Redis prefix `bench-p6-<run>:`. The Neo4j sink has no prefix: its reset deletes every Agent, Team,
// Task and Capability node of the database, as a production replay does. Do not run it beside tests
// that read the graph. Prints the machine and its load; the last line is `key=value` pairs.
import { cpus, loadavg, totalmem } from 'node:os'
import { Redis } from 'ioredis'
import { loadConfig, type SinkName } from '../config/config.js'
import { createRootLogger } from '../config/logger.js'
import { createAdmin } from '../kafka/clients.js'
import { ensureTopics } from '../kafka/topics.js'
import { prefixedTopics } from '../ops/produce.js'
import { type ReplayProgress, type ReplayResult, type ReplaySink, replayPipeline } from '../ops/replay.js'
import { resolveProcessorConfig } from '../processors/config.js'
import { OUTPUT_NAMES, type OutputName, outputSubjects, outputTopicSpecs } from '../processors/outputs.js'
import {
  produceEvents,
  RegistryClient,
  registerEventSchemas,
  registerSchemas,
  valueSubject,
} from '../schemas/index.js'
import { createNeo4jDriver } from '../sinks/neo4j/driver.js'
import { redisConnectionOptions } from '../sinks/redis/target.js'

const argv = process.argv
const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined)
const EVENTS = Number(arg('--events') ?? 1_000_000)
const SINKS = (arg('--sinks') ?? 'neo4j,redis').split(',') as ReplaySink[]
const COMPARE = argv.includes('--compare')
const KEEP = argv.includes('--keep')

const run = Date.now().toString(36)
const prefix = `bench.p6.${run}`
const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })
const topics = prefixedTopics(`${prefix}.`)
const outputTopics = Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${prefix}-${n}`])) as Record<
  OutputName,
  string
>
const processor = resolveProcessorConfig({
  applicationId: `${prefix}-app`,
  inputTopics: topics,
  outputTopics,
})
const groupPrefix = `${prefix}-sink`
const redisPrefix = `bench-p6-${run}:`
const sinkId = (sink: SinkName) => `${prefix}-${sink}`
const logger = createRootLogger(config.log, { destination: process.stderr })
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
const s = (ms: number) => (ms / 1000).toFixed(1)

async function setup(): Promise<void> {
  const admin = createAdmin(config.kafka, 'bench-p6')
  try {
    // Event times stay near now, but the topics keep everything (no retention surprise mid-run).
    await ensureTopics(
      admin,
      Object.entries(topics).map(([family, name]) => ({
        name,
        partitions: family === 'system_events' ? 4 : 8,
        configs: { 'retention.ms': '-1' },
      })),
      config.kafka.replicationFactor,
    )
    await ensureTopics(admin, outputTopicSpecs(outputTopics), config.kafka.replicationFactor)
  } finally {
    await admin.close()
  }
  if (config.schemas.encoding === 'registry') {
    const client = new RegistryClient(config.schemaRegistry)
    await registerEventSchemas(client, { topics })
    await registerSchemas(client, outputSubjects(outputTopics))
  }
}

async function produce(): Promise<number> {
  const started = Date.now()
  let last = 0
  const done = await produceEvents(
    {
      seed: prefix,
      count: EVENTS,
      // 1000 events/s of event time, ending now (the processor refuses events from the future).
      baseTime: Date.now() - EVENTS,
      topics,
      batchSize: 5000,
      target: { kind: 'kafka', config },
    },
    (p) => {
      if (p.written - last >= 100_000) {
        last = p.written
        process.stderr.write(`produced ${p.written}/${p.total}\n`)
      }
    },
  )
  const ms = Date.now() - started
  process.stderr.write(`produced ${done.written} events in ${s(ms)} s\n`)
  return done.written
}

function progressLog(label: string) {
  let lastAt = 0
  let phase = ''
  return (p: ReplayProgress) => {
    const now = Date.now()
    if (p.phase === phase && now - lastAt < 5000) return
    phase = p.phase
    lastAt = now
    const eta = p.etaMs === null ? '' : ` ETA ${s(p.etaMs)} s`
    process.stderr.write(
      `${label} ${p.phase}: ${p.done}/${p.total} ${p.unit}, ${Math.round(p.perSecond)}/s${eta}\n`,
    )
  }
}

function replay(label: string, compare: boolean): Promise<ReplayResult> {
  return replayPipeline(config, {
    processor,
    sinks: SINKS,
    groupPrefix,
    redisPrefix,
    sinkId,
    compare,
    logger,
    timeoutMs: Math.max(600_000, EVENTS * 5),
    onProgress: progressLog(label),
  })
}

async function cleanUp(): Promise<void> {
  // Each store on its own: one failing (a Neo4j transaction over its memory limit) leaves the others clean.
  const step = (what: string, work: () => Promise<void>) =>
    work().catch((e: unknown) => process.stderr.write(`clean-up of ${what} failed: ${String(e)}\n`))
  await step('kafka', async () => {
    const admin = createAdmin(config.kafka, 'bench-p6-cleanup')
    try {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix))
      for (let i = 0; i < mine.length; i += 20) await admin.deleteTopics({ topics: mine.slice(i, i + 20) })
      await admin
        .deleteGroups({ groups: [processor.applicationId, ...SINKS.map((x) => `${groupPrefix}-${x}`)] })
        .catch(() => {})
    } finally {
      await admin.close()
    }
  })
  await step('registry', async () => {
    if (config.schemas.encoding !== 'registry') return
    const client = new RegistryClient(config.schemaRegistry)
    for (const t of [...Object.values(topics), ...Object.values(outputTopics)])
      await client.deleteSubject(valueSubject(t), true).catch(() => {})
  })
  const ids: string[] = []
  await step('redis', async () => {
    const redis = new Redis(config.redis.url, redisConnectionOptions(config.redis))
    try {
      for (const set of ['agents:all', 'teams:all', 'tasks:all'])
        ids.push(...(await redis.smembers(`${redisPrefix}${set}`)))
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await redis.del(...keys)
      } while (cursor !== '0')
    } finally {
      redis.disconnect()
    }
  })
  await step('neo4j', async () => {
    const driver = createNeo4jDriver(config.neo4j)
    try {
      const db = { database: config.neo4j.database }
      // Small transactions: a node's relationships go with it, and Community's transaction memory is bounded.
      for (let i = 0; i < ids.length; i += 500)
        await driver.executeQuery(
          'MATCH (n) WHERE (n:Agent OR n:Team OR n:Task) AND n.id IN $ids DETACH DELETE n',
          { ids: ids.slice(i, i + 500) },
          db,
        )
      await driver.executeQuery(
        'MATCH (o:SinkOffset) WHERE o.sink STARTS WITH $p DELETE o',
        { p: prefix },
        db,
      )
    } finally {
      await driver.close()
    }
  })
}

const header = `node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, load ${load()}`
process.stdout.write(`P6 replay from earliest: ${EVENTS} events, sinks ${SINKS.join(',')}; ${header}\n`)
try {
  await setup()
  const produced = await produce()
  const first = await replay('first run', false)
  process.stdout.write(
    `first run (the pipeline once): processor ${s(first.phases.processorMs)} s, sinks ${s(first.phases.sinksMs)} s, ${Math.round(first.eventsPerSecond)} events/s\n`,
  )
  const r = await replay('replay', COMPARE)
  const rebuildMs = r.phases.processorMs + r.phases.sinksMs
  const totalMs = r.phases.resetMs + rebuildMs
  process.stdout.write(
    `${[
      `replay: ${r.events} events (${produced} produced), ${r.outputRecords} output records applied by the sinks (summed over them)`,
      `  reset ${s(r.phases.resetMs)} s, processor catch-up ${s(r.phases.processorMs)} s, sinks catch-up ${s(r.phases.sinksMs)} s`,
      `  rebuild ${s(rebuildMs)} s: ${Math.round(r.eventsPerSecond)} events/s; reset + rebuild ${s(totalMs)} s: ${Math.round((r.events * 1000) / totalMs)} events/s`,
      ...(r.comparison
        ? [
            `  digests ${s(r.phases.snapshotBeforeMs)} s + ${s(r.phases.snapshotAfterMs)} s; deterministic state ${r.comparison.deterministicEqual ? 'equal' : 'DIFFERENT'}`,
          ]
        : []),
      `  goal: 1M events in <= 60 s (${Math.round(1_000_000 / 60)} events/s); load now ${load()}`,
      `events=${r.events} reset_s=${s(r.phases.resetMs)} processor_s=${s(r.phases.processorMs)} sinks_s=${s(r.phases.sinksMs)} rebuild_s=${s(rebuildMs)} events_per_s=${Math.round(r.eventsPerSecond)} total_s=${s(totalMs)}`,
    ].join('\n')}\n`,
  )
} finally {
  if (!KEEP) await cleanUp()
}
process.exit(0)
