// The key-value store kept in LMDB (stateStore 'lmdb'): it behaves as a plain Map whatever the mix of
// writes, reads and flushes, starts empty whatever a previous process left on disk, and leaves nothing
// behind once closed.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  isTopologyError,
  Materialized,
  Serdes,
  StreamsBuilder,
  TopologyTestDriver,
} from '../../../../../topology/index.js'
import { buildKeyValueStore } from '../../../../../topology/internals/state/build-key-value-store.js'
import { keyIdFunction } from '../../../../../topology/internals/state/key-id.js'
import {
  CHECKPOINT_MAX_AGE_MS,
  KEYS_PER_TRANSACTION,
  LmdbKeyValueStore,
  LmdbStores,
  MAX_KEY_BYTES,
  PENDING_LIMIT,
  writeInTransactions,
} from '../../../../../topology/internals/state/lmdb-key-value-store.js'
import type { Serde } from '../../../../../topology/serdes.js'
import { model, ops, run, storeEnv, storeSpec } from './store-fixtures.js'

const str = Serdes.String()
let root: string
let stores: LmdbStores
let opened = 0

const lmdbStore = <K = string, V = string>(
  keySerde: Serde<K> = str as never,
  valueSerde: Serde<V> = str as never,
) =>
  new LmdbKeyValueStore<K, V>(
    's',
    stores,
    `0_0/s${++opened}`,
    keyIdFunction(keySerde, 't'),
    keySerde,
    valueSerde,
    't',
  )

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'lmdb-store-test-'))
  stores = new LmdbStores(join(root, 'env'))
})

afterAll(() => {
  stores.close()
  rmSync(root, { recursive: true, force: true })
})

describe('LmdbKeyValueStore', () => {
  it('behaves as a Map for any sequence of writes and reads', () => {
    fc.assert(
      fc.property(ops, (list) => {
        const store = lmdbStore()
        expect(run(store, list)).toEqual(model(list))
        store.close()
      }),
      { numRuns: 200 },
    )
  })

  it('behaves as a Map with flushes anywhere, pending writes and LMDB disagreeing', () => {
    fc.assert(
      fc.property(ops, fc.array(fc.nat(400), { maxLength: 20 }), (list, flushes) => {
        const store = lmdbStore()
        const at = new Set(flushes)
        const seen: unknown[] = []
        list.forEach((op, i) => {
          seen.push(...run(store, [op]))
          if (at.has(i)) store.flush()
        })
        expect(seen).toEqual(model(list))
        store.close()
      }),
      { numRuns: 200 },
    )
  })

  it('writes to LMDB once PENDING_LIMIT keys wait, and reads them back from there', () => {
    const store = lmdbStore()
    const count = PENDING_LIMIT * 2 + 17
    for (let i = 0; i < count; i++) store.put(`k${i}`, `v${i}`)
    expect(store.approximateBytes()).toBeLessThan(PENDING_LIMIT * 300)
    for (const i of [0, PENDING_LIMIT - 1, PENDING_LIMIT, count - 1]) expect(store.get(`k${i}`)).toBe(`v${i}`)
    store.delete('k5')
    expect(store.approximateNumEntries()).toBe(count - 1)
    expect(store.approximateBytes()).toBe(0)
    const all = new Map(store.all())
    expect(all.size).toBe(count - 1)
    expect(all.get('k7')).toBe('v7')
    expect(all.has('k5')).toBe(false)
    store.close()
  })

  it('iterates over the writes the caller makes meanwhile: deleted keys skipped, changed ones new', () => {
    const store = lmdbStore()
    for (let i = 0; i < 100; i++) store.put(`a${String(i).padStart(3, '0')}`, `v${i}`)
    const seen: [string, string][] = []
    for (const [key, value] of store.all()) {
      seen.push([key, value])
      if (key === 'a000') {
        store.delete('a050')
        store.put('a060', 'changed')
        // Enough new keys to flush the pending writes to LMDB in the middle of the iteration.
        for (let i = 0; i < PENDING_LIMIT; i++) store.put(`b${i}`, 'x')
        store.delete('a070')
      }
    }
    const got = new Map(seen.filter(([key]) => key.startsWith('a')))
    expect(got.size).toBe(98)
    expect(got.has('a050') || got.has('a070')).toBe(false)
    expect(got.get('a060')).toBe('changed')
    expect(got.get('a099')).toBe('v99')
    expect(store.approximateNumEntries()).toBe(98 + PENDING_LIMIT)
    store.close()
  })

  it('keeps structured keys and the empty key, and finds them by value', () => {
    const json = Serdes.Json<{ id: number }>()
    const store = lmdbStore<{ id: number }, string>(json)
    store.put({ id: 1 }, 'one')
    store.flush()
    expect(store.get({ id: 1 })).toBe('one')
    expect(store.putIfAbsent({ id: 1 }, 'uno')).toBe('one')
    expect([...store.all()]).toEqual([[{ id: 1 }, 'one']])
    expect(store.delete({ id: 1 })).toBe('one')
    expect(store.approximateNumEntries()).toBe(0)
    const plain = lmdbStore()
    plain.put('', 'empty')
    plain.flush()
    expect(plain.get('')).toBe('empty')
    expect([...plain.all()]).toEqual([['', 'empty']])
    store.close()
    plain.close()
  })

  it('refuses a key longer than LMDB takes with a clear error, and finds none such', () => {
    const store = lmdbStore()
    const long = 'x'.repeat(MAX_KEY_BYTES + 1)
    expect(store.get(long)).toBeUndefined()
    let error: unknown
    try {
      store.put(long, 'v')
    } catch (e) {
      error = e
    }
    expect(isTopologyError(error) && error.code).toBe('STORE_KEY_TOO_LARGE')
    expect((error as Error).message).toMatch(/at most 1977 bytes.*serializes to 1978.*stateStore 'memory'/)
    store.put('x'.repeat(MAX_KEY_BYTES), 'longest')
    store.flush()
    expect(store.get('x'.repeat(MAX_KEY_BYTES))).toBe('longest')
    expect(store.approximateNumEntries()).toBe(1)
    store.close()
  })

  it('returns values that stay intact when the key is written again', () => {
    const view: Serde<Buffer> = { serialize: (_t, v) => v, deserialize: (_t, b) => b }
    const store = lmdbStore<string, Buffer>(str, view)
    store.put('a', Buffer.from('first'))
    store.flush()
    const read = store.get('a')
    store.put('a', Buffer.from('other'))
    store.flush()
    expect(read?.toString()).toBe('first')
    expect(store.get('a')?.toString()).toBe('other')
    store.close()
  })

  it('treats a value its serializer writes as null as a delete, and hands the change-logging layer the bytes', () => {
    const nullable: Serde<string> = {
      serialize: (t, v) => (v === 'none' ? null : str.serialize(t, v)),
      deserialize: (t, b) => str.deserialize(t, b),
    }
    const store = lmdbStore(str, nullable)
    store.put('a', 'x')
    expect(store.lastPutBytes?.toString()).toBe('x')
    store.flush()
    store.put('a', 'none')
    expect(store.lastPutBytes).toBeNull()
    expect(store.get('a')).toBeUndefined()
    expect(store.approximateNumEntries()).toBe(0)
    store.close()
  })

  it('gives each store of the same task and name its own database: a task that comes back starts empty', () => {
    const first = new LmdbKeyValueStore('s', stores, '0_1/s', keyIdFunction(str, 't'), str, str, 't')
    first.put('a', '1')
    first.flush()
    const second = new LmdbKeyValueStore('s', stores, '0_1/s', keyIdFunction(str, 't'), str, str, 't')
    expect(second.get('a')).toBeUndefined()
    first.close()
    second.put('b', '2')
    expect([...second.all()]).toEqual([['b', '2']])
    second.close()
  })
})

describe('LmdbStores', () => {
  it('wipes what the directory held and deletes its files when closed; closing twice is harmless', () => {
    const dir = join(root, 'wiped')
    const before = new LmdbStores(dir)
    const store = new LmdbKeyValueStore('s', before, '0_0/s', keyIdFunction(str, 't'), str, str, 't')
    store.put('a', 'left behind')
    store.flush()
    writeFileSync(join(dir, 'stray'), 'x')
    // A crashed process never closes: the next one opens the same directory.
    const after = new LmdbStores(dir)
    expect(readdirSync(dir)).not.toContain('stray')
    const again = new LmdbKeyValueStore('s', after, '0_0/s', keyIdFunction(str, 't'), str, str, 't')
    expect(again.get('a')).toBeUndefined()
    after.close()
    after.close()
    expect(existsSync(dir)).toBe(false)
    again.close() // after its environment: nothing to drop
  })
})

describe('LmdbStores checkpoints', () => {
  const changelog = { topic: 'app-s-changelog', topicId: 'id-1', partition: 0 }
  const entry = (database: string, offset: number) => ({ database, ...changelog, offset })
  const within = { ...changelog, start: 0, end: 100 }
  const storeIn = (env: LmdbStores, database = '0_0/s') =>
    new LmdbKeyValueStore('s', env, database, keyIdFunction(str, 't'), str, str, 't')

  /** A clean close: the store written and flushed, a checkpoint at offset 40, store and environment closed. */
  async function cleanClose(dir: string, now = Date.now): Promise<void> {
    const env = new LmdbStores(dir, { checkpoints: true, now })
    const store = storeIn(env)
    store.put('a', '1')
    store.put('b', '2')
    store.flush()
    expect(await env.checkpoint([entry('0_0/s', 40)])).toBe(true)
    store.close()
    env.close()
  }

  it('keeps the files of a clean close, and a store restores from the offset its checkpoint gives', async () => {
    const dir = join(root, 'kept')
    await cleanClose(dir)
    expect(readdirSync(dir)).toContain('checkpoint.json')
    const env = new LmdbStores(dir, { checkpoints: true })
    expect(env.opening).toMatchObject({ kind: 'checkpoint', databases: 1 })
    // Read and deleted before anything is written: a crash from here on finds no checkpoint.
    expect(readdirSync(dir)).not.toContain('checkpoint.json')
    const store = storeIn(env)
    expect(env.restoreFrom('0_0/s', within)).toBe(40)
    expect([...store.all()]).toEqual([
      ['a', '1'],
      ['b', '2'],
    ])
    store.close()
    env.close()
    expect(existsSync(dir)).toBe(false)
  })

  it('wipes the files when the last run ended without a checkpoint (a crash)', async () => {
    const dir = join(root, 'crashed')
    await cleanClose(dir)
    const running = new LmdbStores(dir, { checkpoints: true })
    storeIn(running).put('c', 'uncommitted')
    // The process dies here: no close, no checkpoint.
    const next = new LmdbStores(dir, { checkpoints: true })
    expect(next.opening).toEqual({ kind: 'fresh' })
    const store = storeIn(next)
    expect(next.restoreFrom('0_0/s', within)).toBeUndefined()
    expect([...store.all()]).toEqual([])
    store.close()
    next.close()
  })

  it.each([
    ['another topic id (the changelog was deleted and created again)', { topicId: 'id-2' }],
    ['another changelog topic', { topic: 'app-other-changelog' }],
    ['another partition', { partition: 1 }],
    ['an offset past the end (a newer topic)', { end: 39 }],
    ['an offset the changelog no longer holds', { start: 41 }],
  ])('empties the database and restores from the start for %s', async (_case, change) => {
    const dir = join(root, `refused-${Object.keys(change)[0]}`)
    await cleanClose(dir)
    const env = new LmdbStores(dir, { checkpoints: true })
    const store = storeIn(env)
    expect(env.restoreFrom('0_0/s', { ...within, ...change })).toBeUndefined()
    expect(store.get('a')).toBeUndefined()
    expect(store.approximateNumEntries()).toBe(0)
    store.close()
    env.close()
  })

  it('refuses a checkpoint older than CHECKPOINT_MAX_AGE_MS, saying why', async () => {
    const dir = join(root, 'old')
    const written = Date.now()
    await cleanClose(dir, () => written)
    const env = new LmdbStores(dir, {
      checkpoints: true,
      now: () => written + CHECKPOINT_MAX_AGE_MS + 60_000,
    })
    expect(env.opening).toMatchObject({ kind: 'discarded', reason: expect.stringContaining('min old') })
    const store = storeIn(env)
    expect(env.restoreFrom('0_0/s', within)).toBeUndefined()
    expect(store.get('a')).toBeUndefined()
    store.close()
    env.close()
  })

  it('refuses a checkpoint that grew too old between the start and the task assignment', async () => {
    const dir = join(root, 'aged')
    const written = Date.now()
    await cleanClose(dir, () => written)
    let now = written + 1000
    const env = new LmdbStores(dir, { checkpoints: true, now: () => now })
    expect(env.checkpointedDatabases()).toEqual(['0_0/s'])
    now = written + CHECKPOINT_MAX_AGE_MS + 1
    expect(env.checkpointedDatabases()).toEqual([])
    const store = storeIn(env)
    expect(env.restoreFrom('0_0/s', within)).toBeUndefined()
    expect(store.approximateNumEntries()).toBe(0)
    store.close()
    env.close()
  })

  it('refuses a checkpoint that is not JSON, or whose files no longer match it', async () => {
    const dir = join(root, 'broken')
    await cleanClose(dir)
    writeFileSync(join(dir, 'checkpoint.json'), '{"version":')
    const garbled = new LmdbStores(dir, { checkpoints: true })
    expect(garbled.opening).toMatchObject({ kind: 'discarded', reason: expect.stringContaining('not JSON') })
    garbled.close()

    await cleanClose(dir)
    // The data file lost (restored from an old backup, deleted by hand): its count no longer matches.
    rmSync(join(dir, 'data.mdb'))
    const lost = new LmdbStores(dir, { checkpoints: true })
    expect(lost.opening).toMatchObject({ kind: 'checkpoint', databases: 0 })
    const store = storeIn(lost)
    expect(lost.restoreFrom('0_0/s', within)).toBeUndefined()
    expect(store.get('a')).toBeUndefined()
    store.close()
    lost.close()
  })

  it('leaves out of the checkpoint a store with writes not yet flushed, and a store closed before it', async () => {
    const dir = join(root, 'partial')
    const env = new LmdbStores(dir, { checkpoints: true })
    const flushed = storeIn(env, '0_0/s')
    flushed.put('a', '1')
    flushed.flush()
    const pending = storeIn(env, '0_1/s')
    pending.put('x', 'not committed')
    const closed = storeIn(env, '0_2/s')
    closed.put('y', '1')
    closed.flush()
    closed.close()
    expect(await env.checkpoint([entry('0_0/s', 5), entry('0_1/s', 5), entry('0_2/s', 5)])).toBe(true)
    flushed.close()
    pending.close()
    env.close()
    const next = new LmdbStores(dir, { checkpoints: true })
    expect(next.opening).toMatchObject({ kind: 'checkpoint', databases: 1 })
    const stores = ['0_0/s', '0_1/s', '0_2/s'].map((name) => storeIn(next, name))
    expect(['0_0/s', '0_1/s', '0_2/s'].map((name) => next.restoreFrom(name, within))).toEqual([
      5,
      undefined,
      undefined,
    ])
    expect(stores.map((s) => s.approximateNumEntries())).toEqual([1, 0, 0])
    for (const s of stores) s.close()
    next.close()
  })

  it('empties a checkpointed database no changelog claimed (a store no longer logged)', async () => {
    const dir = join(root, 'unclaimed')
    await cleanClose(dir)
    const env = new LmdbStores(dir, { checkpoints: true })
    const store = storeIn(env)
    env.discardUnclaimed()
    expect(store.get('a')).toBeUndefined()
    expect(env.restoreFrom('0_0/s', within)).toBeUndefined()
    store.close()
    env.close()
  })

  it('writes no checkpoint without the option (the test driver): the files go at close', async () => {
    const dir = join(root, 'driver')
    const env = new LmdbStores(dir)
    const store = storeIn(env)
    store.put('a', '1')
    store.flush()
    expect(await env.checkpoint([entry('0_0/s', 1)])).toBe(false)
    store.close()
    env.close()
    expect(existsSync(dir)).toBe(false)
  })
})

describe('buildKeyValueStore with an LMDB environment', () => {
  it('keeps a store with serdes in LMDB and restores it from the changelog like the in-memory one', () => {
    const source = storeEnv()
    const original = buildKeyValueStore<string, number>(storeSpec(), source.env)
    for (let i = 0; i < 500; i++) original.store.put(`k${i % 70}`, i)
    original.store.delete('k3')
    original.store.flush()
    const changelog = source.collector.drain()

    const target = storeEnv()
    const env = { ...target.env, lmdb: stores }
    const restored = buildKeyValueStore<string, number>(storeSpec(), env)
    expect(restored.restore(changelog)).toBe(changelog.length)
    expect(restored.store.persistent).toBe(true)
    expect(new Map(restored.store.all())).toEqual(new Map(original.store.all()))
    expect(restored.store.approximateNumEntries()).toBe(69)
    // Writes through the layers reach the changelog as from the in-memory store.
    restored.store.put('k1', 1000)
    restored.store.flush()
    expect(
      target.collector.drain().map((r) => [str.deserialize('', r.key as Buffer), r.value?.length]),
    ).toEqual([['k1', 8]])
    expect(restored.store.get('k1')).toBe(1000)
    restored.store.close()
  })

  it('keeps a store without a key serde in memory', () => {
    const { env } = storeEnv()
    const built = buildKeyValueStore<string, number>(
      storeSpec({ keySerde: undefined, loggingEnabled: false }),
      { ...env, lmdb: stores },
    )
    expect(built.store.persistent).toBe(false)
  })
})

describe('LmdbStores memory', () => {
  it('maps its file once, however large the file grows, so that RSS counts each page once', () => {
    const dir = join(root, 'mapped')
    const env = new LmdbStores(dir)
    const store = new LmdbKeyValueStore('s', env, '0_0/s', keyIdFunction(str, 't'), str, str, 't')
    const value = 'v'.repeat(900)
    for (let i = 0; i < 40_000; i++) store.put(`key-${i}`, value) // ~40 MiB: past lmdb's first map sizes
    store.flush()
    const mappings = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((line) => line.endsWith(join(dir, 'data.mdb')))
    expect(mappings).toHaveLength(1)
    store.close()
    env.close()
  })
})

describe('LmdbStores write transactions', () => {
  // LMDB keeps the buffers of the pages a transaction dirtied for good: a flush's transactions are kept
  // small, so that the largest is small.
  it('writes a flush in transactions of KEYS_PER_TRANSACTION keys, every write of it landing', () => {
    const { db } = stores.open('0_0/chunked')
    const transactions = vi.spyOn(db, 'transactionSync')
    const count = KEYS_PER_TRANSACTION * 2 + 1
    const keys = Array.from({ length: count }, (_, i) => Buffer.from(`k${i}`))
    writeInTransactions(db, keys, KEYS_PER_TRANSACTION, (key) => db.putSync(key, Buffer.from('v')))
    expect(transactions).toHaveBeenCalledTimes(3)
    expect(db.getCount()).toBe(count)
    // `first` runs in the first transaction, and alone when there is nothing else to write.
    const order: string[] = []
    writeInTransactions(
      db,
      keys.slice(0, 2),
      1,
      (key) => order.push(key.toString()),
      () => order.push('first'),
    )
    expect(order).toEqual(['first', 'k0', 'k1'])
    writeInTransactions(
      db,
      [],
      10,
      () => {},
      () => db.putSync(Buffer.from('only'), Buffer.from('x')),
    )
    expect(db.get(Buffer.from('only'))).toEqual(Buffer.from('x'))
    expect(transactions).toHaveBeenCalledTimes(6)
    writeInTransactions(db, [], 10, () => {})
    expect(transactions).toHaveBeenCalledTimes(6)
    stores.release('0_0/chunked')
  })

  it('flushes a store of more keys than one transaction takes: puts and deletes all land', () => {
    const store = lmdbStore()
    const count = KEYS_PER_TRANSACTION * 3 + 7
    for (let i = 0; i < count; i++) store.put(`k${i}`, `v${i}`)
    store.flush()
    for (let i = 0; i < count; i += 2) store.delete(`k${i}`)
    store.flush()
    const all = new Map(store.all())
    expect(all.size).toBe(Math.floor(count / 2))
    expect(all.get(`k${count - 2}`)).toBe(`v${count - 2}`)
    expect([...all.keys()].every((k) => Number(k.slice(1)) % 2 === 1)).toBe(true)
    store.close()
  })
})

describe("TopologyTestDriver's stateStore option", () => {
  const topology = () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in', { keySerde: str, valueSerde: str })
      .groupByKey()
      .count(Materialized.as<string, number>('counts').withKeySerde(str).withValueSerde(Serdes.Long()))
    return builder.build()
  }

  it("keeps a table in LMDB with 'lmdb' and in memory by default, with the same contents", () => {
    const contents = (stateStore?: 'memory' | 'lmdb') => {
      const driver = new TopologyTestDriver(topology(), stateStore === undefined ? {} : { stateStore })
      const input = driver.createInputTopic('in', str, str)
      for (let i = 0; i < 50; i++) input.pipeInput(`k${i % 7}`, 'x', i)
      const store = driver.getKeyValueStore<string, number>('counts')
      const out = { persistent: store.persistent, entries: new Map(store.all()) }
      driver.close()
      return out
    }
    const lmdb = contents('lmdb')
    const memory = contents()
    expect([lmdb.persistent, memory.persistent]).toEqual([true, false])
    expect(lmdb.entries).toEqual(memory.entries)
    expect(lmdb.entries.get('k0')).toBe(8)
  })

  it('refuses another value, naming the option', () => {
    expect(() => new TopologyTestDriver(topology(), { stateStore: 'rocksdb' as never })).toThrow(
      /^INVALID_ARGUMENT: stateStore: got "rocksdb", expected 'memory' or 'lmdb'$/,
    )
  })
})
