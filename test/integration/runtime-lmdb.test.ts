// The runtime with its key-value stores in LMDB (stateStore 'lmdb') on the real broker: a table counts
// exactly once; its files live under the state directory while the instance runs and are gone after
// close(); and an instance that finds files a crashed one left wipes them and restores the table from
// its changelog, counting on from there.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdmin } from '../../kafka/clients.js'
import { Materialized, Serdes, StreamsBuilder, type Topology } from '../../topology/index.js'
import { KafkaStreams } from '../../topology/runtime/index.js'
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

function countsTopology(): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>(input, { keySerde: str, valueSerde: str })
    .groupByKey()
    .count(Materialized.as<string, number>('word-counts').withKeySerde(str).withValueSerde(long))
    .toStream()
    .to(output, { keySerde: str, valueSerde: long })
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
async function readCounts(expected: Record<string, number>): Promise<Record<string, number>> {
  const deadline = Date.now() + 40_000
  let got: Record<string, number> = {}
  while (Date.now() < deadline) {
    got = lastPerKey(
      await readTopicRaw(config, output, { expected: 1, isolation: 'read_committed', quietMs: 300 }),
    )
    if (JSON.stringify(got) === JSON.stringify(expected)) break
    await new Promise((r) => setTimeout(r, 300))
  }
  return got
}

function instance(): KafkaStreams {
  return new KafkaStreams(countsTopology(), {
    applicationId: appId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir,
    stateStore: 'lmdb',
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
  })
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
  it('counts exactly once in LMDB files, deletes them on close, and restores over what a crash left', async () => {
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
    expect(existsSync(lmdbDir)).toBe(false)

    // What a crashed instance leaves: files in the directory, which must not be taken for state.
    mkdirSync(lmdbDir, { recursive: true })
    writeFileSync(join(lmdbDir, 'data.mdb'), Buffer.alloc(64 * 1024, 0xab))
    writeFileSync(join(lmdbDir, 'stale'), 'x')
    await produce(1500, 3000)
    const second = instance()
    await second.start()
    try {
      expect(await readCounts(expectedCounts(4500))).toEqual(expectedCounts(4500))
      expect(readdirSync(lmdbDir)).not.toContain('stale')
    } finally {
      await second.close()
    }
  }, 180_000)
})
