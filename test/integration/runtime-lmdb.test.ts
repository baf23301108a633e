// The runtime with its key-value stores in LMDB (stateStore 'lmdb') on the real broker: a table counts
// exactly once; a clean close leaves its files and a checkpoint, from which the next start restores
// only the changelog's tail (even when the files are runs behind); and an instance that finds files a
// crash left (no checkpoint) wipes them and restores the table from its whole changelog.
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
import { Materialized, Serdes, StreamsBuilder, type Topology } from '../../topology/index.js'
import { KafkaStreams, NO_RUNTIME_METRICS } from '../../topology/runtime/index.js'
import { createTestTopics, deleteTestTopics, type RawRecord, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { produceWords, wordCounts } from '../support/words.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const input = `${prefix}-words`
const output = `${prefix}-counts`
const appId = `${prefix}-app`
const KEYS = 300
const str = Serdes.String()
const long = Serdes.Long()
const stateDir = mkdtempSync(join(tmpdir(), 'streams-lmdb-'))
const lmdbDir = join(stateDir, appId, 'lmdb')

function countsTopology(from = input, to = output): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>(from, { keySerde: str, valueSerde: str })
    .groupByKey()
    .count(Materialized.as<string, number>('word-counts').withKeySerde(str).withValueSerde(long))
    .toStream()
    .to(to, { keySerde: str, valueSerde: long })
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

/** An instance on the shared state directory; `restored` adds up the changelog records it restores. */
function instance(restored?: { records: number }): KafkaStreams {
  return new KafkaStreams(countsTopology(), {
    applicationId: appId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir,
    stateStore: 'lmdb',
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    ...(restored === undefined
      ? {}
      : {
          metrics: {
            ...NO_RUNTIME_METRICS,
            restored: (_store: string, records: number) => {
              restored.records += records
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

/** The records in the store's changelog (committed ones, markers aside). */
async function changelogRecords(): Promise<number> {
  const records = await readTopicRaw(config, `${appId}-word-counts-changelog`, {
    expected: 1,
    isolation: 'read_committed',
    quietMs: 300,
  })
  return records.length
}

beforeAll(() => createTestTopics(config, [input, output], 3))
afterAll(async () => {
  const admin = createAdmin(config.kafka, 'test')
  await admin.deleteGroups({ groups: [appId] }).catch(() => {})
  await admin.close()
  await deleteTestTopics(config, [
    input,
    output,
    `${appId}-word-counts-changelog`,
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
      expect(await readCounts(expectedCounts(3000))).toEqual(expectedCounts(3000))
      expect(readdirSync(lmdbDir)).toContain('data.mdb')
      const sizes = first.storeSizes().filter((s) => s.store === 'word-counts')
      expect(sizes.reduce((n, s) => n + s.entries, 0)).toBe(KEYS)
    } finally {
      await first.close()
    }
    expect(readdirSync(lmdbDir)).toEqual(expect.arrayContaining(['data.mdb', 'checkpoint.json']))
    const changelogLength = await changelogRecords()
    // Kept for the last step: files and a checkpoint that are one run behind.
    cpSync(lmdbDir, `${lmdbDir}-first`, { recursive: true })

    await produce(1500, 3000)
    const restored = { records: 0 }
    const second = instance(restored)
    await second.start()
    try {
      expect(await readCounts(expectedCounts(4500))).toEqual(expectedCounts(4500))
      // Read and deleted at start: a crash from now on finds no checkpoint.
      expect(readdirSync(lmdbDir)).not.toContain('checkpoint.json')
    } finally {
      await second.close()
    }
    // At most the last transaction's records again (the checkpoint takes the last stable offset), against
    // the whole changelog without it.
    expect(restored.records).toBeLessThan(changelogLength / 2)

    // What a crash leaves: files without a checkpoint, which must not be taken for state.
    rmSync(join(lmdbDir, 'checkpoint.json'))
    writeFileSync(join(lmdbDir, 'stale'), 'x')
    await produce(1500, 4500)
    const afterCrash = { records: 0 }
    const third = instance(afterCrash)
    await third.start()
    try {
      expect(await readCounts(expectedCounts(6000))).toEqual(expectedCounts(6000))
      expect(readdirSync(lmdbDir)).not.toContain('stale')
    } finally {
      await third.close()
    }
    expect(afterCrash.records).toBeGreaterThanOrEqual(KEYS)

    // Files and a checkpoint two runs old: the tail since then is restored on top.
    rmSync(lmdbDir, { recursive: true })
    renameSync(`${lmdbDir}-first`, lmdbDir)
    await produce(1500, 6000)
    const behind = { records: 0 }
    const fourth = instance(behind)
    await fourth.start()
    try {
      expect(await readCounts(expectedCounts(7500))).toEqual(expectedCounts(7500))
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
