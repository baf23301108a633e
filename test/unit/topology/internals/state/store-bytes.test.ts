// approximateBytes() of the in-memory stores against what they really take: the heap and array buffers
// they add, measured between full collections, for the shapes the Agent Party tables and windows have
// (UUID keys, serialized values of a few hundred bytes; many windows per key), and for objects kept as
// they are. The estimate is for operators and P8's per-entity figures: it must be within a factor of
// what the process holds, and the layers above must add what they hold and pass the rest through.
import { randomUUID } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { Serdes } from '../../../../../topology/index.js'
import { buildKeyValueStore } from '../../../../../topology/internals/state/build-key-value-store.js'
import { InMemoryKeyValueStore } from '../../../../../topology/internals/state/in-memory-key-value-store.js'
import { keyIdFunction } from '../../../../../topology/internals/state/key-id.js'
import { ObjectValues, SerializedValues } from '../../../../../topology/internals/state/value-slots.js'
import { buildWindowStore } from '../../../../../topology/internals/state/window-build-store.js'
import { WindowInMemoryLayer } from '../../../../../topology/internals/state/window-in-memory-layer.js'
import { storeEnv, storeSpec } from './store-fixtures.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Heap and array buffers held after a full collection. */
function held(): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/** What building the store with `fill` adds to the process, and what the store says it holds. */
function measure<T extends { approximateBytes(): number }>(make: () => T, fill: (store: T) => void) {
  const before = held()
  const store = make()
  fill(store)
  const actual = held() - before
  const estimate = store.approximateBytes()
  return { store, actual, estimate, ratio: estimate / actual }
}

const str = Serdes.String()
const bytes = Serdes.Buffer()
const value = (i: number) => Buffer.alloc(150 + (i % 100), i % 251)
/** A key as a record's deserializer makes it: a flat string of its own (randomUUID() builds a rope). */
const uuid = () => Buffer.from(randomUUID()).toString()

describe('approximateBytes', () => {
  it('of a key-value store of serialized values is within 25% of what it takes', () => {
    const m = measure(
      () =>
        new InMemoryKeyValueStore<string, Buffer>(
          't',
          keyIdFunction(str, 't'),
          new SerializedValues(bytes, 't'),
        ),
      (s) => {
        for (let i = 0; i < 100_000; i++) s.put(uuid(), value(i))
      },
    )
    expect(m.store.approximateNumEntries()).toBe(100_000)
    expect(m.ratio).toBeGreaterThan(0.75)
    expect(m.ratio).toBeLessThan(1.25)
  })

  it('of a window store with many windows per key is within 25% of what it takes', () => {
    const keys = Array.from({ length: 10_000 }, uuid)
    const m = measure(
      () =>
        new WindowInMemoryLayer<string, Buffer>(
          'w',
          keyIdFunction(str, 'w'),
          3_600_000,
          new SerializedValues(bytes, 'w'),
        ),
      (s) => {
        // 12 hopping windows per key, each written by a record of its own (its own copy of the key)
        for (let w = 0; w < 12; w++)
          for (const [i, k] of keys.entries())
            s.put(Buffer.from(k).toString(), w * 300_000, w * 300_000 + 3_600_000, value(i).subarray(0, 24))
      },
    )
    expect(m.store.approximateNumEntries()).toBe(120_000)
    expect(m.ratio).toBeGreaterThan(0.75)
    expect(m.ratio).toBeLessThan(1.25)
  })

  it('of a store of objects is within a factor of two of what it takes', () => {
    const m = measure(
      () =>
        new InMemoryKeyValueStore<string, object>('o', keyIdFunction(str, 'o'), new ObjectValues<object>()),
      (s) => {
        for (let i = 0; i < 50_000; i++)
          s.put(`agent-${i}`, { id: `agent-${i}`, status: 'idle', version: i, capabilities: ['a', 'b'] })
      },
    )
    expect(m.ratio).toBeGreaterThan(0.5)
    expect(m.ratio).toBeLessThan(2)
  })

  it('of a store with structured keys counts the keys kept beside their ids', () => {
    const json = Serdes.Json<{ agent: string; n: number }>()
    const stored = new InMemoryKeyValueStore<{ agent: string; n: number }, Buffer>(
      's',
      keyIdFunction(json, 's'),
      new SerializedValues(bytes, 's'),
    )
    for (let i = 0; i < 1000; i++) stored.put({ agent: `agent-${i}`, n: i }, value(i))
    const ids = new InMemoryKeyValueStore<string, Buffer>(
      'p',
      keyIdFunction(str, 'p'),
      new SerializedValues(bytes, 'p'),
    )
    for (let i = 0; i < 1000; i++)
      ids.put(json.serialize('s', { agent: `agent-${i}`, n: i })?.toString('latin1') ?? '', value(i))
    // the same ids, values and arrays, plus each key object (estimated at well over 32 bytes)
    expect(stored.approximateBytes() - ids.approximateBytes()).toBeGreaterThan(1000 * 32)
  })

  it('of a cached, logged store: the cache adds its dirty entries until they are flushed to the layers below', () => {
    const { env } = storeEnv(1 << 24)
    const built = buildKeyValueStore<string, number>(storeSpec(), env)
    const empty = built.store.approximateBytes()
    for (let i = 0; i < 1000; i++) built.store.put(`k${i}`, i)
    const dirty = built.store.approximateBytes()
    built.store.flush()
    const flushed = built.store.approximateBytes()
    expect(dirty).toBeGreaterThan(empty + 1000 * 8)
    expect(flushed).toBeGreaterThan(empty + 1000 * 8)
    // The cache keeps its entries after a flush (they are clean now), so the figure only grows.
    expect(flushed).toBeGreaterThanOrEqual(dirty)
    for (let i = 0; i < 1000; i++) built.store.delete(`k${i}`)
    built.store.flush()
    expect(built.store.approximateNumEntries()).toBe(0)
  })

  it('of a window store built with its layers counts what its in-memory layer holds', () => {
    const { env } = storeEnv(0)
    const built = buildWindowStore<string, number>(
      {
        ...storeSpec({ kind: 'window' }),
        windowSizeMs: 10,
        retentionMs: 100,
        cachingEnabled: false,
      } as never,
      env,
    )
    const empty = built.store.approximateBytes()
    for (let i = 0; i < 1000; i++) built.store.put(`k${i}`, i, 0)
    expect(built.store.approximateBytes()).toBeGreaterThan(empty + 1000 * 40)
  })
})
