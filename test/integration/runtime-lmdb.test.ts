// The runtime with its stores in LMDB (stateStore 'lmdb') on the real broker: a table and a windowed
// count count exactly once; a clean close leaves their files and a checkpoint, from which the next
// start restores only the changelogs' tails (even when the files are runs behind); and an instance that
// finds files a crash left (no checkpoint) wipes them and restores both from their whole changelogs.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdmin } from '../../kafka/clients.js'
import { Materialized, Serdes, StreamsBuilder, TimeWindows, type Topology } from '../../topology/index.js'
import { KafkaStreams, NO_RUNTIME_METRICS } from '../../topology/runtime/index.js'
import { createTestTopics, deleteTestTopics, type RawRecord, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { produceWords, wordCounts } from '../support/words.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const input = `${prefix}-words`
const output = `${prefix}-counts`
const windowOutput = `${prefix}-window-counts`
const appId = `${prefix}-app`
const KEYS = 300
const str = Serdes.String()
const long = Serdes.Long()
const stateDir = mkdtempSync(join(tmpdir(), 'streams-lmdb-'))
const lmdbDir = join(stateDir, appId, 'lmdb')

/** One window of 10 years (the current one ends in 2029): its count per key is the table's. */
const DECADE_MS = 3650 * 24 * 3600 * 1000

function countsTopology(from = input, to = output, windowed = false): Topology {
  const builder = new StreamsBuilder()
  const grouped = builder.stream<string, string>(from, { keySerde: str, valueSerde: str }).groupByKey()
  grouped
    .count(Materialized.as<string, number>('word-counts').withKeySerde(str).withValueSerde(long))
    .toStream()
    .to(to, { keySerde: str, valueSerde: long })
  if (windowed)
    grouped
      .windowedBy(TimeWindows.ofSizeWithNoGrace(DECADE_MS))
      .count(Materialized.as<string, number>('window-counts').withKeySerde(str).withValueSerde(long))
      .toStream()
      .map((key, count): readonly [string, number] => [key.key, count as number])
      .to(windowOutput, { keySerde: str, valueSerde: long })
  return builder.build()
}

const produce = (n: number, from: number) =>
  produceWords(config, input, { n, from, keys: KEYS, clientId: `${prefix}-upstream` })
const expectedCounts = (total: number) => wordCounts(total, KEYS)

const sorted = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort())

function lastPerKey(records: readonly RawRecord[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of records) out[(r.key as Buffer).toString()] = long.deserialize('', r.value as Buffer)
  return sorted(out)
}

/** The output's last count per key once it equals `expected` (or after 40 s). */
async function readCounts(expected: Record<string, number>, topic = output): Promise<Record<string, number>> {
  const deadline = Date.now() + 40_000
  let got: Record<string, number> = {}
  while (Date.now() < deadline) {
    got = lastPerKey(
      await readTopicRaw(config, topic, { expected: 1, isolation: 'read_committed', quietMs: 300 }),
    )
    if (JSON.stringify(got) === JSON.stringify(expected)) break
    await new Promise((r) => setTimeout(r, 300))
  }
  return got
}

const STORES = ['word-counts', 'window-counts'] as const
type Restored = { records: number; byStore: Record<string, number> }
const restoreCount = (): Restored => ({ records: 0, byStore: {} })

/** An instance on the shared state directory; `restored` adds up the changelog records it restores. */
function instance(restored?: Restored): KafkaStreams {
  return new KafkaStreams(countsTopology(input, output, true), {
    applicationId: appId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir,
    stateStore: 'lmdb',
    windowStateStore: 'lmdb',
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    ...(restored === undefined
      ? {}
      : {
          metrics: {
            ...NO_RUNTIME_METRICS,
            restored: (store: string, records: number) => {
              restored.records += records
              restored.byStore[store] = (restored.byStore[store] ?? 0) + records
            },
          },
        }),
  })
}

async function waitFor(check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The records in a store's changelog (committed ones, transaction markers aside). */
async function changelogRecords(store: string): Promise<number> {
  const records = await readTopicRaw(config, `${appId}-${store}-changelog`, {
    expected: 1,
    isolation: 'read_committed',
    quietMs: 300,
  })
  return records.length
}

/** Both counts, the table's and the window's, once they equal the first `total` words' (or after 40 s). */
async function readBoth(total: number): Promise<void> {
  const expected = expectedCounts(total)
  expect(await readCounts(expected)).toEqual(expected)
  expect(await readCounts(expected, windowOutput)).toEqual(expected)
}

beforeAll(() => createTestTopics(config, [input, output, windowOutput], 3))
afterAll(async () => {
  const admin = createAdmin(config.kafka, 'test')
  await admin.deleteGroups({ groups: [appId] }).catch(() => {})
  await admin.close()
  await deleteTestTopics(config, [
    input,
    output,
    windowOutput,
    `${appId}-word-counts-changelog`,
    `${appId}-window-counts-changelog`,
    `${appId}-dlq`,
    `${appId}-late`,
  ])
  rmSync(stateDir, { recursive: true, force: true })
})

describe("KafkaStreams with stateStore 'lmdb'", () => {
  it('counts exactly once in LMDB files and keeps them across a clean close, restoring only the tail', async () => {
    await produce(3000, 0)
    const first = instance()
    await first.start()
    try {
      await readBoth(3000)
      expect(readdirSync(lmdbDir)).toContain('data.mdb')
      for (const store of ['word-counts', 'window-counts']) {
        const sizes = first.storeSizes().filter((s) => s.store === store)
        expect(sizes.reduce((n, s) => n + s.entries, 0)).toBe(KEYS)
      }
    } finally {
      await first.close()
    }
    expect(readdirSync(lmdbDir)).toEqual(expect.arrayContaining(['data.mdb', 'checkpoint.json']))
    const changelogLength: Record<string, number> = {}
    for (const store of STORES) changelogLength[store] = await changelogRecords(store)
    // Kept for the last step: files and a checkpoint that are one run behind.
    cpSync(lmdbDir, `${lmdbDir}-first`, { recursive: true })

    await produce(1500, 3000)
    const restored = restoreCount()
    const second = instance(restored)
    await second.start()
    try {
      await readBoth(4500)
      // Read and deleted at start: a crash from now on finds no checkpoint.
      expect(readdirSync(lmdbDir)).not.toContain('checkpoint.json')
    } finally {
      await second.close()
    }
    // At most the last transaction's records again (the checkpoint takes the last stable offset), against
    // the whole changelog without it.
    for (const store of STORES)
      expect(restored.byStore[store] ?? 0).toBeLessThan((changelogLength[store] as number) / 2)

    // What a crash leaves: files without a checkpoint, which must not be taken for state.
    rmSync(join(lmdbDir, 'checkpoint.json'))
    writeFileSync(join(lmdbDir, 'stale'), 'x')
    await produce(1500, 4500)
    const afterCrash = restoreCount()
    const third = instance(afterCrash)
    await third.start()
    try {
      await readBoth(6000)
      expect(readdirSync(lmdbDir)).not.toContain('stale')
    } finally {
      await third.close()
    }
    for (const store of STORES) expect(afterCrash.byStore[store]).toBeGreaterThanOrEqual(KEYS)

    // Files and a checkpoint two runs old: the tail since then is restored on top.
    rmSync(lmdbDir, { recursive: true })
    renameSync(`${lmdbDir}-first`, lmdbDir)
    await produce(1500, 6000)
    const behind = restoreCount()
    const fourth = instance(behind)
    await fourth.start()
    try {
      await readBoth(7500)
    } finally {
      await fourth.close()
    }
    expect(behind.records).toBeGreaterThan(restored.records)
  }, 240_000)

  it('gives a restarted instance back the tasks its checkpoint holds, beside another instance', async () => {
    const pairInput = `${prefix}-pair-words`
    const pairOutput = `${prefix}-pair-counts`
    const pairApp = `${prefix}-pair`
    await createTestTopics(config, [pairInput, pairOutput], 4)
    const produced = (n: number, from: number) =>
      produceWords(config, pairInput, { n, from, keys: KEYS, clientId: `${prefix}-pair-upstream` })
    const dirs = [
      mkdtempSync(join(tmpdir(), 'streams-lmdb-a-')),
      mkdtempSync(join(tmpdir(), 'streams-lmdb-b-')),
    ]
    const pair = (dir: string) =>
      new KafkaStreams(countsTopology(pairInput, pairOutput), {
        applicationId: pairApp,
        bootstrapServers: config.kafka.bootstrapServers,
        stateDir: dir,
        stateStore: 'lmdb',
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
        rebalanceTimeoutMs: 10_000,
      })
    const running: KafkaStreams[] = []
    try {
      await produced(2000, 0)
      const a = pair(dirs[0] as string)
      running.push(a)
      await a.start()
      await waitFor(() => a.ready && a.status().activeTasks.length === 4)
      const b = pair(dirs[1] as string)
      running.push(b)
      await b.start()
      await waitFor(
        () =>
          a.ready && b.ready && a.status().activeTasks.length === 2 && b.status().activeTasks.length === 2,
      )
      expect(await readCounts(expectedCounts(2000), pairOutput)).toEqual(expectedCounts(2000))
      const tasksOfA = [...a.status().activeTasks]
      await a.close()
      await waitFor(() => b.ready && b.status().activeTasks.length === 4)

      await produced(1000, 2000)
      const again = pair(dirs[0] as string)
      running.push(again)
      await again.start()
      await waitFor(() => again.ready && b.ready && again.status().activeTasks.length === 2)
      // Balance alone would give it the tasks b holds last in order, whichever they are.
      expect(again.status().activeTasks).toEqual(tasksOfA)
      expect(await readCounts(expectedCounts(3000), pairOutput)).toEqual(expectedCounts(3000))
    } finally {
      for (const streams of running) await streams.close()
      const admin = createAdmin(config.kafka, 'test')
      await admin.deleteGroups({ groups: [pairApp] }).catch(() => {})
      await admin.close()
      await deleteTestTopics(config, [
        pairInput,
        pairOutput,
        `${pairApp}-word-counts-changelog`,
        `${pairApp}-dlq`,
        `${pairApp}-late`,
      ])
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)

  it("deletes the LMDB files when the instance runs with stateStore 'memory'", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streams-lmdb-memory-'))
    const left = join(dir, appId, 'lmdb')
    mkdirSync(left, { recursive: true })
    writeFileSync(join(left, 'checkpoint.json'), '{}')
    const streams = new KafkaStreams(countsTopology(), {
      applicationId: appId,
      bootstrapServers: config.kafka.bootstrapServers,
      stateDir: dir,
      stateStore: 'memory',
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    })
    await streams.start()
    try {
      expect(existsSync(left)).toBe(false)
    } finally {
      await streams.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
