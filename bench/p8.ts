// P8: the whole Agent Party topology (processors/) on the broker, exactly-once (issue 8, "Benchmark").
// Input: the generator's events (schemas/ generateRecords + produceEvents: all four topics, registry
// wire format, 8 partitions each, 1% duplicates, 5% out of order, 0.5% late). Each processor instance
// is a child process (this file with --child), so that its RSS and CPU are its own. `npm run bench:p8`
// compiles the benchmark and the project into dist-bench/ first and runs the JavaScript, as `npm start`
// runs dist/: the instance's memory is then what users get (under tsx each thread also holds the
// transpiler and its source maps: 34-41 MiB more RSS at rest, bench/RESULTS.md R15). `npx tsx
// bench/p8.ts` runs the sources as they are.
//
//   npm run bench:p8                                  throughput: generate 1M events, one instance
//   npm run bench:p8 -- --records 100000              a smaller run
//   npm run bench:p8 -- --instances 2                 two instances (two processes, one group)
//   npm run bench:p8 -- --input-prefix bench.p8.in-x  reuse topics <prefix>.<family> (with --keep-input
//                                                     a run leaves its input for the next one)
//   npm run bench:p8 -- --steady 5000 --seconds 60    latency at a steady produce rate
//   npm run bench:p8 -- --entities 1000000            memory: events until N agents + teams + tasks,
//                                                     produced as fast as the generator goes while the
//                                                     instance runs (after its empty report)
//   npm run bench:p8 -- --entities 100000 --rate 8000  ... produced at 8000/s
//   npm run bench:p8 -- --cpu-prof                    the instance writes a CPU profile to /tmp/p8-prof
//   COMMIT_INTERVAL_MS=1000 npm run bench:p8 -- --steady 2000 --seconds 30
//                                                     the runner with a tuning variable (as `npm start`)
//   npm run bench:p8 -- --streams '{"transactionTimeoutMs":60000}'
//                                                     runtime settings changed (the runner's wiring)
//   npm run bench:p8 -- --clean                       delete every bench.p8.* topic and subject
//
// Throughput: from the first record processed (the fetch response of the instance's first round, from
// the handedToTransaction hook) to the first poll of the group's committed offsets (admin API, every
// 100 ms) that covers every input offset, and to the one that also covers the repartition topics.
// Latency: each agent event's produce-ack time by event id; the agents snapshot output (no repartition)
// read read_committed: receive time - ack time of the event named by its last_event_id. In-process: the
// runtime's handedToTransaction hook (fetch response -> results handed to the transaction), per record.
// Memory: the instance's RSS and heap after full GCs, and its RSS after a last-resort GC (V8 then gives back
// the pages it keeps free), empty and after all input, per entity, and the producer thread's heap as last
// sampled (used and total: no GC is forced there). Each instance's log goes to <tmpdir>/<run>-<instance>.log.
// Each mode prints the machine and its load; the last line is `key=value` pairs for a script.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { createRootLogger } from '../config/logger.js'
import { createMetrics, type Metrics } from '../config/metrics.js'
import { createAdmin, createConsumer, createProducer } from '../kafka/clients.js'
import {
  listOffsets,
  PartitionFetcher,
  type PartitionPosition,
  partitionKey,
} from '../kafka/partition-fetcher.js'
import { ensureTopics } from '../kafka/topics.js'
import { type ProcessorConfig, resolveProcessorConfig } from '../processors/config.js'
import { OUTPUT_NAMES, type OutputName, outputSubjects, outputTopicSpecs } from '../processors/outputs.js'
import { processorStreamsSettings, startProcessor } from '../processors/run-processor.js'
import { createProcessorSerdes } from '../processors/serdes.js'
import { agentPartyTopology, runtimeTopics } from '../processors/topology.js'
import { kafkaSink } from '../schemas/generator/kafka-sink.js'
import type { OutgoingRecord, RecordSink } from '../schemas/generator/record-sink.js'
import {
  EVENT_FAMILIES,
  type EventFamily,
  produceEvents,
  RegistryClient,
  registerEventSchemas,
  registerSchemas,
  registrySchemaLookup,
  valueSubject,
} from '../schemas/index.js'
import { KafkaStreams, type StoreSize, type StreamsConfig } from '../topology/runtime/index.js'
import { LATE_RECORD_HEADERS } from '../topology/runtime/late-records.js'
import { config, flag, log, machineLoad, option } from './kafka-workload.js'

const PARTITIONS = 8
/** Runtime settings for the instances (JSON of StreamsConfig fields), instead of the runner's. */
const streamsOverrides = option('streams', 'BENCH_P8_STREAMS')
const SELF = fileURLToPath(import.meta.url)
const ENTITY_FAMILIES: readonly EventFamily[] = ['agent_events', 'team_events', 'task_events']

// ---- names ------------------------------------------------------------------------------------------

interface RunNames {
  readonly run: string
  readonly applicationId: string
  readonly inputs: Record<EventFamily, string>
  readonly outputs: Record<OutputName, string>
}

function runNames(run: string, inputPrefix: string): RunNames {
  return {
    run,
    applicationId: `${run}.app`,
    inputs: Object.fromEntries(EVENT_FAMILIES.map((f) => [f, `${inputPrefix}.${f}`])) as Record<
      EventFamily,
      string
    >,
    outputs: Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${run}.out.${n}`])) as Record<
      OutputName,
      string
    >,
  }
}

// ---- the processor instance (child process) ------------------------------------------------------

interface ChildReport {
  instance: string
  state: string
  tasks: number
  firstProcessedAt: number
  processed: number
  rssMiB: number
  /** RSS after a last-resort GC too (V8 gives back the pages it keeps free); only with `gc`. */
  rssReleasedMiB: number
  /**
   * That RSS split as /proc/self/status splits it: anonymous memory (heaps, malloc, ArrayBuffers) and
   * pages of mapped files (the binary, and LMDB's files with STATE_STORE=lmdb: page cache the kernel
   * can evict once they are written back: LMDB writes with write(2), the mapping is read-only).
   */
  rssAnonMiB: number
  rssFileMiB: number
  /** Disk the instance's state directory takes (its LMDB files with STATE_STORE=lmdb). */
  stateDirMiB: number
  heapUsedMiB: number
  /** Memory of ArrayBuffers outside the heap: the stores' arenas, fetched and produced bytes. */
  arrayBuffersMiB: number
  /** The producer thread's heap as last sampled (every 5 s; the runtime's metrics hook), if it runs. */
  producerHeapMiB: { used: number; total: number } | undefined
  /** Each store's entries and estimated bytes over the instance's tasks (KafkaStreams.storeSizes()). */
  stores: StoreSize[]
  maxRssMiB: number
  gc: boolean
  /** Per record: fetch response -> handed to the transaction (ms), since the last reset. */
  handoff: Quantiles | undefined
  /** Duration of each commit (ms), since the last reset. */
  commit: Quantiles | undefined
  /** Records (outputs, changelogs, repartition) the commits wrote, since the last reset. */
  committedRecords: number
  /**
   * CPU time of the whole process (every thread, user and system) from its first record processed to
   * the report, in seconds: on a machine shared with the broker, steadier than wall-clock rates.
   */
  cpuSeconds: number
}

interface Quantiles {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** Quantiles of values with weights (a weight is a number of records). */
function weightedQuantiles(samples: readonly (readonly [number, number])[]): Quantiles | undefined {
  if (samples.length === 0) return undefined
  const sorted = [...samples].sort((a, b) => a[0] - b[0])
  const total = sorted.reduce((n, s) => n + s[1], 0)
  const at = (q: number) => {
    const want = q * total
    let seen = 0
    for (const [value, weight] of sorted) {
      seen += weight
      if (seen >= want) return value
    }
    return sorted.at(-1)?.[0] ?? 0
  }
  const round = (v: number) => Math.round(v * 10) / 10
  return {
    count: total,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(sorted.at(-1)?.[0] ?? 0),
  }
}

async function runChild(): Promise<void> {
  const names = runNames(
    option('run', 'P8_RUN') as string,
    option('input-prefix', 'P8_INPUT_PREFIX') as string,
  )
  const instance = process.env.INSTANCE_ID ?? 'p8'
  const handoff: [number, number][] = []
  const commits: [number, number][] = []
  let firstProcessedAt = 0
  let processed = 0
  let committedRecords = 0
  let producerHeap: { used: number; total: number } | undefined
  let cpuAtFirst = 0
  const cpuSeconds = () => {
    const { user, system } = process.cpuUsage()
    return (user + system) / 1e6
  }
  const say = (line: string) => process.stdout.write(`p8 ${line}\n`)
  // The runner, as `agent-party run processor` runs it (INSTANCE_ID and STATE_DIR from the env); with
  // --streams, the same wiring with those runtime settings changed.
  const running =
    streamsOverrides === undefined
      ? await startProcessor(config, {
          processor: processorConfig(names),
          metricsPort: 0,
          logger: createRootLogger({ ...config.log, level: 'warn' }),
        })
      : await startWithOverrides(names, JSON.parse(streamsOverrides) as Partial<StreamsConfig>)
  // Its metrics hooks, observed as well (the same object the runtime calls; processing has not started:
  // the loop's first round needs the assignment and a fetch).
  const hooks = running.metrics.streams
  const handed = hooks.handedToTransaction
  hooks.handedToTransaction = (fetchedAtMs, records) => {
    handed?.(fetchedAtMs, records)
    const waited = performance.now() - fetchedAtMs
    // The first round's fetch response: when the first record was fetched and processed.
    if (firstProcessedAt === 0) {
      firstProcessedAt = Date.now() - waited
      cpuAtFirst = cpuSeconds()
    }
    processed += records
    handoff.push([waited, records])
  }
  const sampled = hooks.producerThreadHeap
  hooks.producerThreadHeap = (used, total) => {
    sampled?.(used, total)
    producerHeap = { used, total }
  }
  const committed = hooks.commit
  hooks.commit = (durationMs, records) => {
    committed(durationMs, records)
    commits.push([durationMs, 1])
    committedRecords += records
  }
  const streams = running.streams
  say(`sources ${JSON.stringify(Object.values(names.inputs))}`)
  if (streams.state === 'RUNNING') say(`state RUNNING ${Date.now()}`)
  streams.on('state', (state: string) => say(`state ${state} ${Date.now()}`))
  const report = (): ChildReport => {
    const cpu = firstProcessedAt === 0 ? 0 : cpuSeconds() - cpuAtFirst
    const gc = (
      globalThis as { gc?: (o?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void }
    ).gc
    if (gc !== undefined) {
      gc()
      gc()
    }
    const mem = process.memoryUsage()
    gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' })
    const released = process.memoryUsage().rss
    const status = readFileSync('/proc/self/status', 'utf8')
    const statusMiB = (field: string) =>
      Math.round(Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024)
    return {
      instance,
      state: streams.state,
      tasks: streams.status().activeTasks.length,
      firstProcessedAt,
      processed,
      rssMiB: Math.round(mem.rss / 2 ** 20),
      rssReleasedMiB: Math.round(released / 2 ** 20),
      rssAnonMiB: statusMiB('RssAnon'),
      rssFileMiB: statusMiB('RssFile'),
      stateDirMiB: Math.round(diskBytes(process.env.STATE_DIR ?? '') / 2 ** 20),
      heapUsedMiB: Math.round(mem.heapUsed / 2 ** 20),
      arrayBuffersMiB: Math.round(mem.arrayBuffers / 2 ** 20),
      producerHeapMiB: producerHeap && {
        used: Math.round(producerHeap.used / 2 ** 20),
        total: Math.round(producerHeap.total / 2 ** 20),
      },
      stores: streams.storeSizes(),
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      gc: gc !== undefined,
      handoff: weightedQuantiles(handoff),
      commit: weightedQuantiles(commits),
      committedRecords,
      cpuSeconds: Math.round(cpu * 10) / 10,
    }
  }
  // SIGUSR1: the warm-up is over (forget the samples); SIGUSR2: report; SIGTERM: close and report.
  process.on('SIGUSR1', () => {
    handoff.length = 0
    commits.length = 0
    committedRecords = 0
  })
  process.on('SIGUSR2', () => say(`report ${JSON.stringify(report())}`))
  process.on('SIGTERM', () => {
    running
      .close()
      .catch(() => {})
      .finally(() => {
        say(`report ${JSON.stringify(report())}`)
        process.exit(0)
      })
  })
}

/** What startProcessor does (serdes, metrics, topology, runtime), with runtime settings overridden. */
async function startWithOverrides(
  names: RunNames,
  overrides: Partial<StreamsConfig>,
): Promise<{ streams: KafkaStreams; metrics: Metrics; close(): Promise<void> }> {
  const processor = processorConfig(names)
  const serdes = await createProcessorSerdes(processor, {
    encoding: 'registry',
    lookup: registrySchemaLookup(new RegistryClient({ url: config.schemaRegistry.url })),
  })
  const metrics = createMetrics()
  const topology = agentPartyTopology(processor, serdes, {
    onDuplicate: (topic) => metrics.processor.duplicate(topic),
    onDataQuality: (reason) => metrics.processor.dataQuality(reason),
  })
  const streams = new KafkaStreams(topology, {
    ...processorStreamsSettings(config, processor),
    logger: createRootLogger({ ...config.log, level: 'warn' }),
    metrics: metrics.streams,
    engineMetrics: metrics.engine,
    ...overrides,
  })
  await streams.start()
  return { streams, metrics, close: () => streams.close() }
}

function processorConfig(names: RunNames): ProcessorConfig {
  return resolveProcessorConfig({
    applicationId: names.applicationId,
    inputTopics: names.inputs,
    outputTopics: names.outputs,
  })
}

/** One instance as a child process; its `p8 ...` lines kept. */
class Instance {
  readonly child: ChildProcess
  readonly lines: string[] = []
  readonly exited: Promise<unknown>
  readonly logFile: string

  constructor(names: RunNames, inputPrefix: string, id: string, nodeFlags: string[]) {
    const stateDir = join(tmpdir(), `${names.run}-${id}`)
    mkdirSync(stateDir, { recursive: true })
    this.child = spawn(
      process.execPath,
      [
        ...nodeFlags,
        // Compiled (npm run bench:p8 builds dist-bench/), the instance runs as `npm start` does: no tsx.
        ...(SELF.endsWith('.ts') ? ['--import', 'tsx'] : []),
        SELF,
        '--child',
        '--run',
        names.run,
        '--input-prefix',
        inputPrefix,
        ...(streamsOverrides === undefined ? [] : ['--streams', streamsOverrides]),
      ],
      { env: { ...process.env, INSTANCE_ID: id, STATE_DIR: stateDir }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    // Its log (warnings and errors, JSON lines) goes to a file beside its state directory.
    this.logFile = `${stateDir}.log`
    const logStream = createWriteStream(this.logFile)
    let buffer = ''
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk
      const parts = buffer.split('\n')
      buffer = parts.pop() ?? ''
      for (const line of parts) {
        if (line.startsWith('p8 ')) this.lines.push(line)
        else logStream.write(`${line}\n`)
      }
    })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim() !== '') log(`  [${id}] ${line.slice(0, 400)}`)
    })
    this.exited = once(this.child, 'exit')
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  async waitFor(prefix: string, after = 0, timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const line = this.lines.slice(after).find((l) => l.startsWith(`p8 ${prefix}`))
      if (line !== undefined) return line.slice(`p8 ${prefix}`.length).trim()
      if (!this.running) throw new Error(`the instance exited before '${prefix}'`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for '${prefix}'`)
      await sleep(20)
    }
  }

  async sources(): Promise<string[]> {
    return JSON.parse(await this.waitFor('sources')) as string[]
  }

  async report(): Promise<ChildReport> {
    const after = this.lines.length
    this.child.kill('SIGUSR2')
    return JSON.parse(await this.waitFor('report', after, 60_000)) as ChildReport
  }

  async stop(): Promise<ChildReport | undefined> {
    if (!this.running) return undefined
    const after = this.lines.length
    this.child.kill('SIGTERM')
    const line = await this.waitFor('report', after, 30_000).catch(() => undefined)
    // Writing a CPU profile at exit takes a while: killed before, the instance leaves none.
    await Promise.race([this.exited, sleep(flag('cpu-prof') ? 120_000 : 5000)])
    if (this.running) this.child.kill('SIGKILL')
    return line === undefined ? undefined : (JSON.parse(line) as ChildReport)
  }
}

// ---- topics, input and offsets -------------------------------------------------------------------

async function createInputTopics(names: RunNames): Promise<void> {
  const admin = createAdmin(config.kafka, 'bench-p8')
  try {
    await ensureTopics(
      admin,
      Object.values(names.inputs).map((name) => ({ name, partitions: PARTITIONS, configs: {} })),
      1,
    )
    // The runner creates the output topics too, but the runtime's check right after can miss topics
    // the broker's metadata does not show yet (MISSING_SINK_TOPIC): created here, a moment before.
    await ensureTopics(admin, outputTopicSpecs(names.outputs), 1)
  } finally {
    await admin.close()
  }
  await sleep(1000)
  // What provisioning does: the event schemas and the outputs'.
  const client = new RegistryClient({ url: config.schemaRegistry.url })
  await registerEventSchemas(client, { topics: names.inputs })
  await registerSchemas(client, outputSubjects(names.outputs))
}

/** Deletes this run's topics (and the input's, unless kept) and their registry subjects. */
async function cleanUp(names: RunNames, inputPrefix: string, keepInput: boolean): Promise<void> {
  const admin = createAdmin(config.kafka, 'bench-p8')
  try {
    const mine = (await admin.listTopics()).filter(
      (t) => t.startsWith(`${names.run}.`) || (!keepInput && t.startsWith(`${inputPrefix}.`)),
    )
    if (mine.length > 0) await admin.deleteTopics({ topics: mine })
    log(`deleted ${mine.length} topics${keepInput ? ` (kept the input ${inputPrefix}.*)` : ''}`)
  } finally {
    await admin.close()
  }
  const client = new RegistryClient({ url: config.schemaRegistry.url })
  const subjects = [...Object.values(names.outputs), ...(keepInput ? [] : Object.values(names.inputs))].map(
    valueSubject,
  )
  for (const subject of subjects) await client.deleteSubject(subject, true).catch(() => {})
}

const GENERATOR = {
  seed: 'bench-p8',
  duplicateShare: 0.01,
  outOfOrderShare: 0.05,
  lateShare: 0.005,
  lateByMs: 20_000,
}

/**
 * Produces `count` generated events (or, with `entities`, until the agent, team and task topics hold
 * that many distinct keys), event times ending about now. Returns the distinct entities written.
 */
async function generate(
  names: RunNames,
  count: number,
  entities?: number,
  paceRate?: number,
): Promise<number> {
  const started = performance.now()
  let written = 0
  const keys = new Set<string>()
  const entityTopics = new Set(ENTITY_FAMILIES.map((f) => names.inputs[f]))
  const abort = new AbortController()
  const kafka = kafkaSink(config.kafka, 'bench-p8-generator')
  const sink: RecordSink = {
    async write(batch: readonly OutgoingRecord[]) {
      await kafka.write(batch)
      written += batch.length
      // Paced in wall-clock time only: the event times keep the generator's default spacing.
      if (paceRate !== undefined)
        await sleep(Math.max(0, started + (written * 1000) / paceRate - performance.now()))
      for (const r of batch) if (entityTopics.has(r.topic)) keys.add(`${r.topic}\u0000${r.key.toString()}`)
      if (entities !== undefined && keys.size >= entities) abort.abort()
    },
    close: () => kafka.close(),
  }
  // ~1000 events per second of event time (the generator's default rate), ending now.
  const progress = await produceEvents(
    {
      ...GENERATOR,
      count,
      baseTime: Date.now() - count,
      batchSize: 5000,
      topics: names.inputs,
      target: { kind: 'sink', sink },
      encoding: 'registry',
      registryUrl: config.schemaRegistry.url,
      signal: abort.signal,
    },
    (p) => {
      if (p.written % 500_000 < 5000) log(`  generated ${p.written} events, ${keys.size} entities`)
    },
  )
  log(
    `generated ${progress.written} events (${progress.duplicates} duplicates, ${progress.outOfOrder} out of order, ` +
      `${progress.late} late; ${keys.size} agents + teams + tasks) into ${Object.values(names.inputs).join(', ')} ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
  return keys.size
}

/** The input topics the topology reads (its source topics, as the instance reports them). */
function inputPartitions(sources: readonly string[]): { topic: string; partition: number }[] {
  return sources.flatMap((topic) =>
    Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })),
  )
}

async function endOffsets(sources: readonly string[]): Promise<Map<string, number>> {
  const consumer = createConsumer(config.kafka, `bench-p8-ends-${Date.now()}`)
  try {
    return await listOffsets(consumer, inputPartitions(sources), 'latest')
  } finally {
    await consumer.close(true)
  }
}

/** Committed offsets of the application's group on its inputs, summed over the partitions. */
class CommittedPoller {
  readonly #admin = createAdmin(config.kafka, 'bench-p8-poller')
  constructor(
    private readonly names: RunNames,
    private readonly sources: readonly string[],
  ) {}

  async #partitionCounts(): Promise<Map<string, number>> {
    const metadata = await this.#admin.metadata({ topics: [...this.sources] })
    return new Map(this.sources.map((t) => [t, metadata.topics.get(t)?.partitionsCount ?? PARTITIONS]))
  }
  #counts: Promise<Map<string, number>> | undefined

  async committed(): Promise<Map<string, number>> {
    this.#counts ??= this.#partitionCounts()
    const counts = await this.#counts
    const groups = await this.#admin.listConsumerGroupOffsets({
      groups: [
        {
          groupId: this.names.applicationId,
          topics: this.sources.map((name) => ({
            name,
            partitionIndexes: Array.from({ length: counts.get(name) ?? PARTITIONS }, (_, i) => i),
          })),
        },
      ],
    })
    const out = new Map<string, number>()
    for (const topic of groups[0]?.topics ?? [])
      for (const p of topic.partitions)
        if (p.committedOffset >= 0n)
          out.set(partitionKey(topic.name, p.partitionIndex), Number(p.committedOffset))
    return out
  }

  close(): Promise<void> {
    return this.#admin.close()
  }
}

interface Progress {
  firstCommitAt: number
  firstCommitRecords: number
  doneAt: number
  total: number
}

/** Polls every 100 ms until the group's committed offsets reach `ends`. */
async function waitUntilCommitted(
  names: RunNames,
  sources: readonly string[],
  ends: Map<string, number>,
  instances: readonly Instance[],
  timeoutMs = 1_800_000,
): Promise<Progress> {
  const poller = new CommittedPoller(names, sources)
  const starts = await (async () => {
    const consumer = createConsumer(config.kafka, `bench-p8-starts-${Date.now()}`)
    try {
      return await listOffsets(consumer, inputPartitions(sources), 'earliest')
    } finally {
      await consumer.close(true)
    }
  })()
  const total = [...ends].reduce((n, [k, end]) => n + end - (starts.get(k) ?? 0), 0)
  const progress: Progress = { firstCommitAt: 0, firstCommitRecords: 0, doneAt: 0, total }
  const deadline = Date.now() + timeoutMs
  let lastLog = Date.now()
  try {
    for (;;) {
      const committed = await poller.committed()
      const now = Date.now()
      let done = 0
      for (const [k, end] of ends)
        done += Math.min(end, committed.get(k) ?? starts.get(k) ?? 0) - (starts.get(k) ?? 0)
      if (done > 0 && progress.firstCommitAt === 0) {
        progress.firstCommitAt = now
        progress.firstCommitRecords = done
      }
      if (done >= total) {
        progress.doneAt = now
        return progress
      }
      if (now - lastLog > 10_000) {
        lastLog = now
        log(`  committed ${done} of ${total} input records`)
      }
      if (instances.some((i) => !i.running)) throw new Error('an instance exited')
      if (now > deadline) throw new Error(`not done after ${timeoutMs / 1000} s: ${done} of ${total}`)
      await sleep(100)
    }
  } finally {
    await poller.close()
  }
}

/**
 * Polls every 100 ms until the group has committed everything in the application's repartition topics
 * (read back by the instances after the input is done): at most one offset short per partition (the
 * last transaction's commit marker), or nothing but markers past the committed offset. Returns when.
 */
async function waitUntilDrained(names: RunNames, instances: readonly Instance[]): Promise<number> {
  const admin = createAdmin(config.kafka, 'bench-p8-drain')
  const consumer = createConsumer(config.kafka, `bench-p8-drain-${Date.now()}`)
  try {
    const topics = (await admin.listTopics()).filter(
      (t) => t.startsWith(`${names.applicationId}-`) && t.endsWith('-repartition'),
    )
    const metadata = await admin.metadata({ topics, forceUpdate: true })
    const partitions = topics.flatMap((topic) =>
      Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, partition) => ({
        topic,
        partition,
      })),
    )
    const poller = new CommittedPoller(names, topics)
    const fetcher = new PartitionFetcher(consumer, { isolation: 'read_committed', maxWaitMs: 0 })
    try {
      for (;;) {
        const ends = await listOffsets(consumer, partitions, 'latest')
        const committed = await poller.committed()
        const now = Date.now()
        const behind = partitions.filter((p) => {
          const k = partitionKey(p.topic, p.partition)
          return (committed.get(k) ?? 0) < (ends.get(k) ?? 0) - 1
        })
        if (behind.length === 0) return now
        // Past the committed offset there may be nothing but transaction markers (a transaction that took
        // the partition and wrote nothing to it, or one that aborted): nothing is left to process there.
        const fetched = await fetcher.fetch(
          behind.map((p) => ({ ...p, offset: committed.get(partitionKey(p.topic, p.partition)) ?? 0 })),
        )
        const onlyMarkers = fetched.every((b) => b.records.length === 0 && b.nextOffset >= b.lastStableOffset)
        if (fetched.length === behind.length && onlyMarkers) return now
        if (instances.some((i) => !i.running)) throw new Error('an instance exited')
        await sleep(100)
      }
    } finally {
      await poller.close()
    }
  } finally {
    await consumer.close(true)
    await admin.close()
  }
}

/**
 * The records each of the run's topics (outputs, changelogs, repartition topics) holds at the end, largest
 * first. End offsets count the transaction markers too: one per partition a transaction wrote to.
 */
async function writtenPerTopic(names: RunNames): Promise<[string, number][]> {
  const admin = createAdmin(config.kafka, 'bench-p8-written')
  const consumer = createConsumer(config.kafka, `bench-p8-written-${Date.now()}`)
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${names.run}.`))
    const metadata = await admin.metadata({ topics, forceUpdate: true })
    const partitions = topics.flatMap((topic) =>
      Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, partition) => ({
        topic,
        partition,
      })),
    )
    const totals = new Map<string, number>()
    for (const [key, end] of await listOffsets(consumer, partitions, 'latest')) {
      const topic = key.slice(0, key.lastIndexOf('\u0000'))
      totals.set(topic, (totals.get(topic) ?? 0) + end)
    }
    return [...totals].sort((a, b) => b[1] - a[1])
  } finally {
    await consumer.close(true)
    await admin.close()
  }
}

/** The records the run's late-record topic holds, by the store that found them too late (its header). */
async function lateRecordsByStore(names: RunNames): Promise<[string, number][]> {
  const topic = runtimeTopics(names.applicationId).late
  const consumer = createConsumer(config.kafka, `bench-p8-late-${Date.now()}`)
  try {
    const ends = await listOffsets(consumer, [{ topic, partition: 0 }], 'latest')
    const end = ends.get(partitionKey(topic, 0)) ?? 0
    const fetcher = new PartitionFetcher(consumer, { isolation: 'read_committed', maxWaitMs: 20 })
    const counts = new Map<string, number>()
    let offset = 0
    while (offset < end - 1) {
      const [batch] = await fetcher.fetch([{ topic, partition: 0, offset }])
      if (batch === undefined || batch.nextOffset <= offset) break
      for (const r of batch.records) {
        const store = r.headers.get(LATE_RECORD_HEADERS.store)?.toString() ?? '?'
        counts.set(store, (counts.get(store) ?? 0) + 1)
      }
      offset = batch.nextOffset
    }
    return [...counts].sort((a, b) => b[1] - a[1])
  } finally {
    await consumer.close(true)
  }
}

function nodeFlags(expose: boolean): string[] {
  const flags = expose ? ['--expose-gc'] : []
  if (flag('cpu-prof')) flags.push('--cpu-prof', '--cpu-prof-dir=/tmp/p8-prof')
  return flags
}

/** Bytes of disk the files under `directory` take (allocated blocks: LMDB's file is sparse). */
function diskBytes(directory: string): number {
  if (directory === '') return 0
  let total = 0
  for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).blocks * 512
  }
  return total
}

function describeReport(r: ChildReport | undefined): string {
  if (r === undefined) return 'no report'
  const q = (x: Quantiles | undefined) =>
    x === undefined ? '-' : `p50 ${x.p50} p95 ${x.p95} p99 ${x.p99} max ${x.max} ms (n=${x.count})`
  return (
    `${r.instance}: ${r.tasks} tasks, ${r.processed} records processed, RSS ${r.rssMiB} MiB (peak ${r.maxRssMiB}; ` +
    `after a last-resort GC ${r.rssReleasedMiB}: ${r.rssAnonMiB} anonymous, ${r.rssFileMiB} of mapped files; ` +
    `state directory ${r.stateDirMiB} MiB on disk), ` +
    `heap ${r.heapUsedMiB} MiB${r.gc ? ' after GC' : ''}, array buffers ${r.arrayBuffersMiB} MiB, ` +
    `producer thread heap ${r.producerHeapMiB === undefined ? '-' : `${r.producerHeapMiB.used} MiB used of ${r.producerHeapMiB.total}`}; handed to transaction ${q(r.handoff)}; commit ${q(r.commit)}, ` +
    `${r.committedRecords} records written by the commits; CPU ${r.cpuSeconds} s since its first record ` +
    `(all threads${r.processed > 0 ? `, ${Math.round((r.cpuSeconds * 1e6) / r.processed)} µs per record processed` : ''})`
  )
}

// ---- throughput -------------------------------------------------------------------------------------

async function throughput(): Promise<void> {
  const records = Number(option('records', 'BENCH_P8_RECORDS') ?? 1_000_000)
  const instancesWanted = Number(option('instances', 'BENCH_P8_INSTANCES') ?? 1)
  const given = option('input-prefix', 'BENCH_P8_INPUT_PREFIX')
  const inputPrefix = given ?? `bench.p8.in-${Date.now().toString(36)}`
  const names = runNames(`bench.p8.${Date.now().toString(36)}`, inputPrefix)
  const keepInput = flag('keep-input')
  const instances: Instance[] = []
  try {
    await createInputTopics(names)
    if (given === undefined) await generate(names, records)
    log(machineLoad())
    const started = Date.now()
    // The next instance once the previous one has created the internal topics and joined the group:
    // started at the same instant, two instances both create them and one fails ("Creating topics
    // failed"). The second's join rebalances the group in its first seconds.
    for (let i = 0; i < instancesWanted; i++) {
      const instance = new Instance(names, inputPrefix, `p8-${i}`, nodeFlags(false))
      instances.push(instance)
      await instance.sources()
    }
    const sources = await instances[0]?.sources()
    const ends = await endOffsets(sources ?? [])
    const progress = await waitUntilCommitted(names, sources ?? [], ends, instances)
    const drainedAt = await waitUntilDrained(names, instances)
    const reports = await Promise.all(instances.map((i) => i.report()))
    const firstProcessed = Math.min(...reports.map((r) => r.firstProcessedAt).filter((t) => t > 0))
    const rate = progress.total / ((progress.doneAt - firstProcessed) / 1000)
    const commitRate =
      (progress.total - progress.firstCommitRecords) / ((progress.doneAt - progress.firstCommitAt) / 1000)
    log(
      `${instancesWanted} instance(s), exactly-once, runtime settings: ${streamsOverrides ?? "the runner's"}, ` +
        `${progress.total} input records in the topics the ` +
        `topology reads (${(sources ?? []).join(', ')}): ` +
        `start to first record processed ${((firstProcessed - started) / 1000).toFixed(1)} s`,
    )
    log(
      `first record processed to the commit that covers the last input offset: ` +
        `${((progress.doneAt - firstProcessed) / 1000).toFixed(1)} s, ${Math.round(rate)} events/s`,
    )
    const drainedRate = progress.total / ((drainedAt - firstProcessed) / 1000)
    log(
      `first record processed to the commit that covers the repartition topics too (every result out): ` +
        `${((drainedAt - firstProcessed) / 1000).toFixed(1)} s, ${Math.round(drainedRate)} events/s`,
    )
    log(
      progress.doneAt > progress.firstCommitAt
        ? `first commit to last commit (${progress.total - progress.firstCommitRecords} records): ${Math.round(commitRate)} events/s`
        : 'one commit covered the whole input',
    )
    for (const r of reports) log(`  ${describeReport(r)}`)
    const written = await writtenPerTopic(names)
    const total = written.reduce((sum, [, n]) => sum + n, 0)
    log(
      `records in the run's topics (with transaction markers): ${total}, ${(total / progress.total).toFixed(2)} per input event`,
    )
    for (const [topic, n] of written) {
      log(
        `  ${(n / progress.total).toFixed(3).padStart(7)} per event  ${String(n).padStart(9)}  ${topic.slice(names.run.length + 1)}`,
      )
    }
    const late = await lateRecordsByStore(names)
    log(
      `records found too late for their windows, by store: ${late.map(([store, n]) => `${store} ${n}`).join(', ') || 'none'}`,
    )
    log(`after: ${machineLoad()}`)
    process.stdout.write(
      `events_per_s=${Math.round(rate)} all_results_events_per_s=${Math.round(drainedRate)} ` +
        `instances=${instancesWanted} records=${progress.total} ` +
        `cpu_ms_per_1000_events=${Math.round((reports.reduce((sum, r) => sum + (r?.cpuSeconds ?? 0), 0) * 1e6) / progress.total)}\n`,
    )
  } finally {
    for (const i of instances) await i.stop()
    await cleanUp(names, inputPrefix, keepInput)
  }
}

// ---- latency ----------------------------------------------------------------------------------------

/** Reads the agents snapshots read_committed: receive time - produce-ack time of each last_event_id. */
class AgentSnapshotReader {
  readonly latencies: number[] = []
  /** Snapshots naming no event acked and not yet seen (a snapshot emitted again with the same last event). */
  unmatched = 0
  /** Snapshots of events acked during the warm-up. */
  warmup = 0
  #stopped = false
  #loop: Promise<void> | undefined
  #decode: ((bytes: Buffer) => Promise<{ last_event_id: string }>) | undefined

  constructor(
    private readonly names: RunNames,
    private readonly acks: Map<string, number>,
    private readonly measureFrom: () => number,
  ) {}

  start(): void {
    this.#loop = this.#run()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#loop
  }

  // JSON (the topology's snapshot serde so far) or the output's Avro schema in the registry format.
  async #value(bytes: Buffer): Promise<{ last_event_id: string }> {
    if (bytes[0] === 0x7b) return JSON.parse(bytes.toString()) as { last_event_id: string }
    if (this.#decode === undefined) {
      const serdes = await createProcessorSerdes(processorConfig(this.names), {
        encoding: 'registry',
        lookup: registrySchemaLookup(new RegistryClient({ url: config.schemaRegistry.url })),
      })
      const serde = serdes.output<{ last_event_id: string }>('agents')
      const topic = this.names.outputs.agents
      this.#decode = async (b) => {
        await serde.prepare?.(topic, [b])
        return serde.deserialize(topic, b) as { last_event_id: string }
      }
    }
    return this.#decode(bytes)
  }

  async #run(): Promise<void> {
    const topic = this.names.outputs.agents
    const consumer = createConsumer(config.kafka, `bench-p8-reader-${Date.now()}`)
    try {
      const fetcher = new PartitionFetcher(consumer, { isolation: 'read_committed', maxWaitMs: 20 })
      let positions: PartitionPosition[] = Array.from({ length: PARTITIONS }, (_, partition) => ({
        topic,
        partition,
        offset: 0,
      }))
      while (!this.#stopped) {
        const fetched = await fetcher.fetch(positions)
        const now = performance.now()
        const next = new Map(positions.map((p) => [partitionKey(p.topic, p.partition), p]))
        for (const batch of fetched) {
          for (const r of batch.records) {
            if (r.value === null || r.value === undefined) continue
            const id = (await this.#value(r.value as Buffer)).last_event_id
            const ack = this.acks.get(id)
            if (ack === undefined) {
              this.unmatched++
              continue
            }
            this.acks.delete(id)
            if (ack >= this.measureFrom()) this.latencies.push(now - ack)
            else this.warmup++
          }
          next.set(partitionKey(batch.topic, batch.partition), {
            topic: batch.topic,
            partition: batch.partition,
            offset: batch.nextOffset,
          })
        }
        positions = [...next.values()]
      }
    } finally {
      await consumer.close(true)
    }
  }
}

async function latency(): Promise<void> {
  const rate = Number(option('steady', 'BENCH_P8_STEADY'))
  const seconds = Number(option('seconds', 'BENCH_P8_SECONDS') ?? 60)
  const warmupMs = Math.min(10_000, (seconds * 1000) / 6)
  const inputPrefix = `bench.p8.in-${Date.now().toString(36)}`
  const names = runNames(`bench.p8.${Date.now().toString(36)}`, inputPrefix)
  let instance: Instance | undefined
  try {
    await createInputTopics(names)
    log(machineLoad())
    instance = new Instance(names, inputPrefix, 'p8-0', nodeFlags(false))
    await instance.waitFor('state RUNNING')
    await sleep(2000)
    const acks = new Map<string, number>()
    let measureFrom = Number.POSITIVE_INFINITY
    const reader = new AgentSnapshotReader(names, acks, () => measureFrom)
    reader.start()
    const producer = createProducer(config.kafka, { clientId: 'bench-p8-steady' })
    const agentTopic = names.inputs.agent_events
    let produced = 0
    const sink: RecordSink = {
      async write(batch: readonly OutgoingRecord[]) {
        await producer.send({
          messages: batch.map((r) => ({
            topic: r.topic,
            key: r.key,
            value: r.value,
            timestamp: BigInt(r.timestamp),
          })),
        })
        const ack = performance.now()
        produced += batch.length
        for (const r of batch)
          if (r.topic === agentTopic) acks.set((r.event as { event_id: string }).event_id, ack)
      },
      close: () => producer.close(),
    }
    const started = performance.now()
    const warm = sleep(warmupMs).then(() => {
      measureFrom = performance.now()
      instance?.child.kill('SIGUSR1')
    })
    const progress = await produceEvents({
      ...GENERATOR,
      count: Math.round(rate * seconds),
      rate,
      baseTime: Date.now(),
      topics: names.inputs,
      target: { kind: 'sink', sink },
      encoding: 'registry',
      registryUrl: config.schemaRegistry.url,
    })
    await warm
    const producedFor = (performance.now() - started) / 1000
    const report = await instance.report()
    await sleep(2000)
    await reader.stop()
    const q = weightedQuantiles(reader.latencies.map((l) => [l, 1] as const))
    log(
      `steady ${rate} events/s for ${seconds} s (${progress.written} events in ${producedFor.toFixed(1)} s: ` +
        `${Math.round(produced / producedFor)} events/s achieved), ${warmupMs / 1000} s warm-up left out`,
    )
    log(
      `append (produce ack) -> committed agents snapshot (no repartition), read_committed: ` +
        (q === undefined
          ? 'no samples'
          : `p50 ${q.p50} p95 ${q.p95} p99 ${q.p99} max ${q.max} ms over ${q.count} agent events`) +
        ` (left out: ${reader.warmup} snapshots of warm-up events, ${reader.unmatched} snapshots naming an ` +
        `event already seen; ${acks.size} agent events never named by a snapshot: a later event of the ` +
        'same agent in the same commit interval supersedes them in the cache, or not yet read)',
    )
    log(`  ${describeReport(report)}`)
    log(`after: ${machineLoad()}`)
    process.stdout.write(
      `p99_append_to_committed_ms=${q?.p99 ?? -1} p99_in_process_ms=${report.handoff?.p99 ?? -1} ` +
        `p50_append_to_committed_ms=${q?.p50 ?? -1} steady=${rate}\n`,
    )
  } finally {
    await instance?.stop()
    await cleanUp(names, inputPrefix, false)
  }
}

// ---- memory -----------------------------------------------------------------------------------------

/** The stores of the entity tables (processors/entities). */
const TABLE_STORES = ['agents', 'teams', 'tasks']
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10

async function memory(): Promise<void> {
  const wanted = Number(option('entities', 'BENCH_P8_ENTITIES'))
  const inputPrefix = `bench.p8.in-${Date.now().toString(36)}`
  const names = runNames(`bench.p8.${Date.now().toString(36)}`, inputPrefix)
  let instance: Instance | undefined
  try {
    await createInputTopics(names)
    // Produced while the instance runs, after its empty report (an input produced first would already
    // be in its fetch buffers by then): at --rate events/s, else as fast as the generator goes.
    const paceRate = option('rate', 'BENCH_P8_RATE')
    log(machineLoad())
    instance = new Instance(names, inputPrefix, 'p8-0', nodeFlags(true))
    const sources = await instance.sources()
    await instance.waitFor('state RUNNING')
    await sleep(2000)
    const empty = await instance.report()
    log(`  empty: ${describeReport(empty)}`)
    // About 7.5 events per entity in the generator's mix: ask for more and stop at the count.
    const made = await generate(
      names,
      wanted * 12,
      wanted,
      paceRate === undefined ? undefined : Number(paceRate),
    )
    const ends = await endOffsets(sources)
    const progress = await waitUntilCommitted(names, sources, ends, [instance])
    log(`  ${progress.total} events processed and committed; settling 10 s`)
    await sleep(10_000)
    const full = await instance.report()
    const perEntity = ((full.rssMiB - empty.rssMiB) * 2 ** 20) / made
    const heapPerEntity = ((full.heapUsedMiB - empty.heapUsedMiB) * 2 ** 20) / made
    const releasedPerEntity = ((full.rssReleasedMiB - empty.rssReleasedMiB) * 2 ** 20) / made
    log(`  full: ${describeReport(full)}`)
    // The entity tables alone, as the stores estimate what they hold (store-bytes.ts).
    const tables = full.stores.filter((s) => TABLE_STORES.includes(s.store))
    const tableBytes = tables.reduce((sum, s) => sum + s.bytes, 0)
    const storeBytes = full.stores.reduce((sum, s) => sum + s.bytes, 0)
    const biggest = [...full.stores].sort((a, b) => b.bytes - a.bytes).slice(0, 8)
    log(
      `  stores (estimated): ${mib(storeBytes)} MiB in all; the largest: ` +
        biggest.map((s) => `${s.store} ${mib(s.bytes)} MiB (${s.entries} entries)`).join(', '),
    )
    log(
      `  entity tables (${tables.map((s) => `${s.store} ${s.entries}`).join(', ')}): ${mib(tableBytes)} MiB, ` +
        `${Math.round(tableBytes / made)} bytes per entity`,
    )
    log(
      `${made} entities (agents + teams + tasks) from ${progress.total} events` +
        ` (produced ${paceRate === undefined ? 'unpaced' : `at ${paceRate}/s`} while processed): RSS ${full.rssMiB} MiB after GC ` +
        `(${empty.rssMiB} MiB empty, peak ${full.maxRssMiB} MiB), ${Math.round(perEntity)} bytes of RSS and ` +
        `${Math.round(heapPerEntity)} bytes of heap per entity (all stores: tables, dedup ids, windows); ` +
        `after a last-resort GC ${full.rssReleasedMiB} MiB (${empty.rssReleasedMiB} MiB empty), ` +
        `${Math.round(releasedPerEntity)} bytes of RSS per entity`,
    )
    log(`after: ${machineLoad()}`)
    process.stdout.write(
      `rss_mib=${full.rssMiB} bytes_per_entity=${Math.round(perEntity)} entities=${made} peak_rss_mib=${full.maxRssMiB} ` +
        `table_bytes_per_entity=${Math.round(tableBytes / made)} store_mib=${mib(storeBytes)} ` +
        `released_rss_mib=${full.rssReleasedMiB} released_bytes_per_entity=${Math.round(releasedPerEntity)} ` +
        `anon_mib=${full.rssAnonMiB} file_mib=${full.rssFileMiB} state_dir_mib=${full.stateDirMiB}\n`,
    )
  } finally {
    await instance?.stop()
    await cleanUp(names, inputPrefix, false)
  }
}

/** Deletes every bench.p8.* topic and subject: what an interrupted run left. */
async function cleanAll(): Promise<void> {
  const admin = createAdmin(config.kafka, 'bench-p8')
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith('bench.p8.'))
    if (mine.length > 0) await admin.deleteTopics({ topics: mine })
    log(`deleted ${mine.length} topics`)
  } finally {
    await admin.close()
  }
  const response = await fetch(`${config.schemaRegistry.url}/subjects`)
  const subjects = ((await response.json()) as string[]).filter((s) => s.startsWith('bench.p8.'))
  const client = new RegistryClient({ url: config.schemaRegistry.url })
  for (const subject of subjects) await client.deleteSubject(subject, true).catch(() => {})
  log(`deleted ${subjects.length} subjects`)
}

async function main(): Promise<void> {
  if (flag('child')) return runChild()
  if (flag('clean')) return cleanAll()
  if (option('steady', 'BENCH_P8_STEADY') !== undefined) return latency()
  if (option('entities', 'BENCH_P8_ENTITIES') !== undefined) return memory()
  return throughput()
}

main().then(
  () => {
    if (!flag('child')) process.exit(process.exitCode ?? 0)
  },
  (error) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
