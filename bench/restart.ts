// How long a restarted instance takes to be ready again with N entities in a table: with its stores in
// LMDB and the checkpoint a clean close leaves (only the changelog's tail is restored), in LMDB without
// the checkpoint (what a crash leaves: the whole changelog), and in memory (the whole changelog).
// Alternated twice on the local stack: one table of N distinct UUID keys with 600-byte values (about a
// task snapshot of P8), over 4 partitions, exactly-once. "ready" is from start() to the instance
// reporting ready (group join, restore, positioning); "restore" is the restore itself. With --windows,
// the same records also go through a windowed reduce (1 h windows: one window per entity), whose window
// store is restored, or kept (windowStateStore 'lmdb' in the LMDB runs), beside the table.
//
//   npm run bench:restart [-- --records 500000] [--windows]
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createAdmin, createProducer } from '../kafka/clients.js'
import { recreateTopic } from '../kafka/topics.js'
import { Materialized, Serdes, type StateStoreType, StreamsBuilder, TimeWindows } from '../topology/index.js'
import { KafkaStreams, NO_RUNTIME_METRICS } from '../topology/runtime/index.js'
import { config, log, machineLoad } from './kafka-workload.js'

const at = process.argv.indexOf('--records')
const RECORDS = Number(at >= 0 ? process.argv[at + 1] : 500_000) || 500_000
const PARTITIONS = 4
const WINDOWS = process.argv.includes('--windows')
const STORES = WINDOWS ? 2 : 1
const suffix = Date.now().toString(36)
const input = `bench.restart.in-${suffix}`
const applicationId = `bench-restart-${suffix}`

async function produceEntities(): Promise<void> {
  const admin = createAdmin(config.kafka, 'bench')
  try {
    await recreateTopic(admin, input, PARTITIONS, 1, { 'retention.ms': '-1' })
  } finally {
    await admin.close()
  }
  const producer = createProducer(config.kafka, { clientId: 'bench-restart' })
  const value = Buffer.alloc(600, 7)
  try {
    for (let i = 0; i < RECORDS; i += 1000) {
      const messages = Array.from({ length: Math.min(1000, RECORDS - i) }, () => ({
        topic: input,
        key: Buffer.from(randomUUID()),
        value,
      }))
      await producer.send({ messages })
    }
  } finally {
    await producer.close()
  }
}

interface Run {
  readonly readyMs: number
  readonly restoreMs: number
  readonly restored: number
}

/** Starts an instance, waits until its table holds every entity, and closes it cleanly. */
async function run(stateDir: string, stateStore: StateStoreType): Promise<Run> {
  const builder = new StreamsBuilder()
  const grouped = builder
    .stream<string, Buffer>(input, { keySerde: Serdes.String(), valueSerde: Serdes.Buffer() })
    .groupByKey()
  grouped.reduce(
    (_old, value) => value,
    Materialized.as<string, Buffer>('entities').withKeySerde(Serdes.String()).withValueSerde(Serdes.Buffer()),
  )
  if (WINDOWS)
    grouped
      .windowedBy(TimeWindows.ofSizeWithNoGrace(3600_000))
      .reduce(
        (_old, value) => value,
        Materialized.as<string, Buffer>('entity-windows')
          .withKeySerde(Serdes.String())
          .withValueSerde(Serdes.Buffer()),
      )
  let restored = 0
  let restoreMs = 0
  const streams = new KafkaStreams(builder.build(), {
    applicationId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir,
    stateStore,
    // With --windows the window store is on disk beside the table (windowStateStore 'lmdb').
    windowStateStore: WINDOWS ? stateStore : 'memory',
    metrics: {
      ...NO_RUNTIME_METRICS,
      restored: (_store, records, durationMs) => {
        restored += records
        restoreMs = Math.max(restoreMs, durationMs)
      },
    },
  })
  const started = performance.now()
  await streams.start()
  try {
    while (!streams.ready) await sleep(20)
    const readyMs = performance.now() - started
    const entries = () => streams.storeSizes().reduce((n, s) => n + s.entries, 0)
    while (entries() < RECORDS * STORES) await sleep(200)
    return { readyMs, restoreMs, restored }
  } finally {
    await streams.close({ timeoutMs: 60_000 })
  }
}

const lmdbDir = mkdtempSync(join(tmpdir(), 'bench-restart-lmdb-'))
const memoryDir = mkdtempSync(join(tmpdir(), 'bench-restart-memory-'))
try {
  console.log(
    `${RECORDS} entities over ${PARTITIONS} partitions${WINDOWS ? ', a table and a window store' : ''}; ${machineLoad()}`,
  )
  await produceEntities()
  // The first run processes the input and leaves the changelog and a checkpoint.
  const first = await run(lmdbDir, 'lmdb')
  log(`first run (processes the input): ready in ${Math.round(first.readyMs)} ms`)
  const results: string[] = []
  for (let round = 1; round <= 2; round++) {
    const cases: [string, () => Promise<Run>][] = [
      ['lmdb, checkpoint', () => run(lmdbDir, 'lmdb')],
      [
        'lmdb, no checkpoint',
        () => {
          rmSync(join(lmdbDir, applicationId, 'lmdb', 'checkpoint.json'))
          return run(lmdbDir, 'lmdb')
        },
      ],
      ['memory', () => run(memoryDir, 'memory')],
    ]
    for (const [name, go] of cases) {
      const r = await go()
      console.log(
        `  ${name}: ready in ${Math.round(r.readyMs)} ms, restore ${Math.round(r.restoreMs)} ms, ` +
          `${r.restored} changelog records restored`,
      )
      results.push(`${name.replace(/[ ,]+/g, '_')}_${round}_ready_ms=${Math.round(r.readyMs)}`)
    }
  }
  console.log(`after: ${machineLoad()}`)
  console.log(results.join(' '))
} finally {
  const admin = createAdmin(config.kafka, 'bench')
  const topics = [
    input,
    `${applicationId}-entities-changelog`,
    `${applicationId}-entity-windows-changelog`,
    `${applicationId}-dlq`,
    `${applicationId}-late`,
  ]
  await admin.deleteGroups({ groups: [applicationId] }).catch(() => {})
  await admin.deleteTopics({ topics }).catch(() => {})
  await admin.close()
  rmSync(lmdbDir, { recursive: true, force: true })
  rmSync(memoryDir, { recursive: true, force: true })
}
