// P1: a stateless topology on the real broker (Avro decode -> filter -> map -> Avro encode -> produce),
// as a ratio to the raw consume + produce rate of the same client measured in the same run (the
// runtime issue's goal: at least 0.8). Input: the P2 workload (bench/kafka-workload.ts).
//
//   npm run bench:p1                          generate bench.tokens (1M records), then run
//   npm run bench:p1 -- --input bench.tokens  reuse it (or BENCH_P1_INPUT)
//   npm run bench:p1 -- --records 200000      a smaller run
//
// Rates are end to end: from the first record read to the last output acknowledged (the engine: to
// the commit that covers the last input record). The engine runs at-least-once (the baseline has no
// transactions either) and then exactly-once. Last line: events_per_s=<engine at-least-once>.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessagesStreamModes } from '@platformatic/kafka'
import { createAdmin, createConsumer, createProducer } from '../kafka/clients.js'
import { Serdes, StreamsBuilder } from '../topology/index.js'
import { KafkaStreams, NO_RUNTIME_METRICS, type ProcessingGuarantee } from '../topology/runtime/index.js'
import {
  config,
  generateTokens,
  log,
  machineLoad,
  option,
  PARTITIONS,
  type TokenUsage,
  tokenUsageSerde,
} from './kafka-workload.js'

const RECORDS = Number(option('records', 'BENCH_P1_RECORDS') ?? 1_000_000)
const INPUT = option('input', 'BENCH_P1_INPUT')
const RUN = Date.now().toString(36)

async function createOutput(topic: string): Promise<void> {
  const admin = createAdmin(config.kafka, 'bench-p1')
  try {
    await admin.createTopics({
      topics: [topic],
      partitions: PARTITIONS,
      replicas: 1,
      configs: [{ name: 'retention.ms', value: '-1' }],
    })
  } finally {
    await admin.close()
  }
}

// The baseline: the client's stream, each record's bytes sent on as they are, batches of 5,000 with up
// to 4 sends in flight, idempotent (PERFORMANCE.md's raw consume -> produce).
async function rawConsumeProduce(input: string): Promise<number> {
  const output = `bench.p1.raw-${RUN}`
  await createOutput(output)
  const consumer = createConsumer(config.kafka, `bench-p1-raw-${RUN}`)
  const producer = createProducer(config.kafka, { clientId: 'bench-p1-raw' })
  try {
    const stream = await consumer.consume({
      topics: [input],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    })
    let first = 0
    let read = 0
    let acked = 0
    let batch: { topic: string; key: Buffer; value: Buffer; timestamp: bigint }[] = []
    const inFlight = new Set<Promise<void>>()
    const elapsed = await new Promise<number>((done, fail) => {
      const flush = () => {
        const messages = batch
        batch = []
        const sent = producer.send({ messages }).then(
          () => {
            inFlight.delete(sent)
            acked += messages.length
            if (acked === RECORDS) done(performance.now() - first)
            if (inFlight.size < 4 && stream.isPaused()) stream.resume()
          },
          (error: unknown) => fail(error),
        )
        inFlight.add(sent)
        if (inFlight.size >= 4) stream.pause()
      }
      stream.on('data', (m) => {
        if (read === 0) first = performance.now()
        if (read >= RECORDS) return
        read++
        batch.push({ topic: output, key: m.key as Buffer, value: m.value as Buffer, timestamp: m.timestamp })
        if (batch.length === 5000 || read === RECORDS) flush()
      })
    })
    await stream.close()
    return RECORDS / (elapsed / 1000)
  } finally {
    await producer.close()
    await consumer.close(true)
  }
}

async function runEngine(input: string, guarantee: ProcessingGuarantee): Promise<number> {
  const output = `bench.p1.out-${guarantee}-${RUN}`
  await createOutput(output)
  let first = 0
  let committed = 0
  let done = 0
  const str = Serdes.String()
  const builder = new StreamsBuilder()
  builder
    .stream<string, TokenUsage>(input, { keySerde: str, valueSerde: tokenUsageSerde })
    .peek(() => {
      if (first === 0) first = performance.now()
    })
    .filter((_agent, usage) => usage.tokens > 100)
    .mapValues((usage) => ({ ...usage, tokens: usage.tokens * 2 }))
    .to(output, { keySerde: str, valueSerde: tokenUsageSerde })
  const streams = new KafkaStreams(builder.build(), {
    applicationId: `bench-p1-${guarantee}-${RUN}`,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir: mkdtempSync(join(tmpdir(), 'bench-p1-')),
    processingGuarantee: guarantee,
    metrics: {
      ...NO_RUNTIME_METRICS,
      recordsConsumed: (topic, count) => {
        if (topic !== input) return
        committed += count
        if (committed >= RECORDS && done === 0) done = performance.now()
      },
    },
  })
  await streams.start()
  try {
    while (done === 0) {
      if (streams.state === 'ERROR') throw new Error('the engine failed')
      await new Promise((r) => setTimeout(r, 20))
    }
  } finally {
    await streams.close()
  }
  return RECORDS / ((done - first) / 1000)
}

async function main(): Promise<void> {
  const input = INPUT ?? 'bench.tokens'
  if (INPUT === undefined) await generateTokens(input, RECORDS)
  log(machineLoad())
  const raw = await rawConsumeProduce(input)
  log(`client raw consume -> produce: ${Math.round(raw)} records/s`)
  const atLeastOnce = await runEngine(input, 'at_least_once')
  log(
    `engine at-least-once, decode -> filter -> map -> encode -> produce: ${Math.round(atLeastOnce)} events/s (${(atLeastOnce / raw).toFixed(2)}x raw)`,
  )
  const exactlyOnce = await runEngine(input, 'exactly_once')
  log(
    `engine exactly-once, same topology: ${Math.round(exactlyOnce)} events/s (${(exactlyOnce / raw).toFixed(2)}x raw)`,
  )
  log(`after: ${machineLoad()}`)
  process.stdout.write(`events_per_s=${Math.round(atLeastOnce)}\n`)
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
