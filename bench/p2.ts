// P2: windowed count + sum per key with exactly-once, on the real broker, in the one workload every
// engine can be run on (the runtime issue): topic bench.tokens (8 partitions, retention.ms=-1), 1M
// Avro-encoded TokenUsage records over 10k keys, record time = occurred_at advancing 1 ms per record;
// 1-minute tumbling windows, 30 s grace, emit on update with the record cache, in-memory window store;
// output keyed as Kafka Streams' time-windowed key, valued as 8-byte count then 8-byte sum.
//
//   npm run bench:p2                              generate bench.tokens, then run
//   npm run bench:p2 -- --input bench.tokens      reuse an existing input topic (or BENCH_P2_INPUT)
//   npm run bench:p2 -- --output my.out           name the output topic (or BENCH_P2_OUTPUT)
//   npm run bench:p2 -- --records 200000          a smaller run
//   npm run bench:p2 -- --jvm                     also run Kafka Streams 4.4 (bench/jvm) on the same
//                                                 input, before ours, and print the ratio
//
// It also measures, in the same run, the client's raw consume rate of the input (no decoding), and
// checks the output (the last count of every window adds up to the input). Last line: events_per_s=<n>.
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRootLogger } from '../config/logger.js'
import { createAdmin, createConsumer } from '../kafka/clients.js'
import {
  listOffsets,
  PartitionFetcher,
  type PartitionPosition,
  partitionKey,
} from '../kafka/partition-fetcher.js'
import { Materialized, Serdes, StreamsBuilder, TimeWindows, WindowedSerdes } from '../topology/index.js'
import { KafkaStreams, NO_RUNTIME_METRICS } from '../topology/runtime/index.js'
import {
  type CountSum,
  config,
  countSumSerde,
  flag,
  generateTokens,
  log,
  machineLoad,
  option,
  PARTITIONS,
  rawConsumeRate,
  type TokenUsage,
  tokenUsageSerde,
} from './kafka-workload.js'

const RECORDS = Number(option('records', 'BENCH_P2_RECORDS') ?? 1_000_000)
const INPUT = option('input', 'BENCH_P2_INPUT')
const OUTPUT = option('output', 'BENCH_P2_OUTPUT') ?? `bench.p2.out-${Date.now().toString(36)}`

async function checkOutput(topic: string): Promise<{ windows: number; count: number; sum: number }> {
  const consumer = createConsumer(config.kafka, `bench-p2-check-${Date.now()}`)
  try {
    const fetcher = new PartitionFetcher(consumer, { isolation: 'read_committed', maxWaitMs: 100 })
    const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true })
    const partitions = Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, p) => ({
      topic,
      partition: p,
    }))
    const ends = await listOffsets(consumer, partitions, 'latest')
    let positions: PartitionPosition[] = partitions.map((p) => ({ ...p, offset: 0 }))
    const last = new Map<string, CountSum>()
    while (positions.length > 0) {
      const fetched = await fetcher.fetch(positions)
      // A fetch session answers only for partitions with news: keep the others' positions.
      const next = new Map(positions.map((p) => [partitionKey(p.topic, p.partition), p]))
      for (const batch of fetched) {
        for (const r of batch.records)
          last.set((r.key as Buffer).toString('hex'), countSumSerde.deserialize('', r.value as Buffer))
        next.set(partitionKey(batch.topic, batch.partition), {
          topic: batch.topic,
          partition: batch.partition,
          offset: batch.nextOffset,
        })
      }
      positions = [...next.values()].filter(
        (p) => p.offset < (ends.get(partitionKey(p.topic, p.partition)) ?? 0),
      )
    }
    let count = 0
    let sum = 0
    for (const v of last.values()) {
      count += v.count
      sum += v.sum
    }
    return { windows: last.size, count, sum }
  } finally {
    await consumer.close(true)
  }
}

async function runEngine(
  input: string,
): Promise<{ rate: number; committedRate: number; rssBefore: number; rssPeak: number }> {
  let processed = 0
  let first = 0
  let nth = 0
  let committed = 0
  let committedAt = 0
  const str = Serdes.String()
  const builder = new StreamsBuilder()
  builder
    .stream<string, TokenUsage>(input, { keySerde: str, valueSerde: tokenUsageSerde })
    .peek(() => {
      if (processed === 0) first = performance.now()
      if (++processed === RECORDS) nth = performance.now()
    })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 30_000))
    .aggregate<CountSum>(
      () => ({ count: 0, sum: 0 }),
      (_key, usage, agg) => ({ count: agg.count + 1, sum: agg.sum + usage.tokens }),
      Materialized.as<string, CountSum>('p2-windows').withValueSerde(countSumSerde),
    )
    .toStream()
    .to(OUTPUT, { keySerde: WindowedSerdes.timeWindowed(str, 60_000), valueSerde: countSumSerde })
  const applicationId = `bench-p2-${Date.now().toString(36)}`
  const streams = new KafkaStreams(builder.build(), {
    applicationId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir: mkdtempSync(join(tmpdir(), 'bench-p2-')),
    processingGuarantee: 'exactly_once',
    logger: createRootLogger({ ...config.log, level: 'warn' }),
    ...(process.env.BENCH_P2_CACHE_BYTES === undefined
      ? {}
      : { cacheMaxBytes: Number(process.env.BENCH_P2_CACHE_BYTES) }),
    metrics: {
      ...NO_RUNTIME_METRICS,
      recordsConsumed: (topic, count) => {
        if (topic !== input) return
        committed += count
        if (committed >= RECORDS && committedAt === 0) committedAt = performance.now()
      },
    },
  })
  const admin = createAdmin(config.kafka, 'bench-p2')
  try {
    if (!(await admin.listTopics()).includes(OUTPUT)) {
      // Old event times: without retention.ms=-1 the broker deletes the output as it arrives.
      await admin.createTopics({
        topics: [OUTPUT],
        partitions: PARTITIONS,
        replicas: 1,
        configs: [{ name: 'retention.ms', value: '-1' }],
      })
    }
  } finally {
    await admin.close()
  }
  // The whole input is a backlog when the engine starts: RSS sampled while it works it off.
  const rssBefore = process.memoryUsage().rss
  let rssPeak = rssBefore
  await streams.start()
  try {
    while (committedAt === 0) {
      if (streams.state === 'ERROR') throw new Error('the engine failed')
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
      await new Promise((r) => setTimeout(r, 20))
    }
  } finally {
    await streams.close()
  }
  return {
    rate: RECORDS / ((nth - first) / 1000),
    committedRate: RECORDS / ((committedAt - first) / 1000),
    rssBefore: rssBefore / 2 ** 20,
    rssPeak: rssPeak / 2 ** 20,
  }
}

// Kafka Streams on the same input (bench/jvm/run-p2.sh builds it with Maven on first use).
function runJvm(input: string): number {
  const result = spawnSync(
    'bash',
    ['bench/jvm/run-p2.sh', '--input', input, '--output', `${OUTPUT}-jvm`, '--count', String(RECORDS)],
    {
      encoding: 'utf8',
      env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS: config.kafka.bootstrapServers.join(',') },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const line = result.stdout
    .trim()
    .split('\n')
    .findLast((l) => l.startsWith('events_per_s='))
  if (result.status !== 0 || line === undefined) throw new Error(`the JVM run failed (exit ${result.status})`)
  return Number(line.slice('events_per_s='.length))
}

async function main(): Promise<void> {
  const input = INPUT ?? 'bench.tokens'
  if (INPUT === undefined) await generateTokens(input, RECORDS)
  log(machineLoad())
  const raw = await rawConsumeRate(input, RECORDS)
  log(`client raw consume (MessagesStream, no decoding): ${Math.round(raw)} records/s`)
  const jvm = flag('jvm') ? runJvm(input) : undefined
  if (jvm !== undefined)
    log(`Kafka Streams 4.4 (JVM), first to ${RECORDS}th record processed: ${jvm} events/s`)
  const engine = await runEngine(input)
  log(
    `engine, first to ${RECORDS}th record processed: ${Math.round(engine.rate)} events/s (${(engine.rate / raw).toFixed(2)}x raw consume)`,
  )
  if (jvm !== undefined) log(`ratio to Kafka Streams in this run: ${(engine.rate / jvm).toFixed(2)}x`)
  log(
    `engine, first record to the commit that covers the ${RECORDS}th: ${Math.round(engine.committedRate)} events/s`,
  )
  log(
    `RSS while the engine worked off the ${RECORDS}-record backlog: ${Math.round(engine.rssBefore)} MiB before, ${Math.round(engine.rssPeak)} MiB at most`,
  )
  const check = await checkOutput(OUTPUT)
  const expectedSum = Array.from({ length: RECORDS }, (_, j) => 1 + (j % 1000)).reduce((a, b) => a + b, 0)
  const exact = check.count === RECORDS && (INPUT !== undefined || check.sum === expectedSum)
  log(
    `output ${OUTPUT}: ${check.windows} windows, counts add up to ${check.count}${exact ? ' (exact)' : ' (NOT EXACT)'}`,
  )
  log(
    `peak RSS of this process (generator, raw consumer, engine, checker): ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
  )
  log(`after: ${machineLoad()}`)
  process.stdout.write(`events_per_s=${Math.round(engine.rate)}\n`)
  if (!exact) process.exitCode = 1
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
