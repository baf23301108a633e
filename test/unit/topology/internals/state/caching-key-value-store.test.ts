// The caching layer: latest write per key until flush, old values for the listener, tombstones, and
// eviction past the byte budget, which the caches of a task share (the one holding the oldest dirty
// entry is evicted first).
import { describe, expect, it } from 'vitest'
import { StreamsBuilder, TopologyTestDriver } from '../../../../../topology/index.js'
import { buildKeyValueStore } from '../../../../../topology/internals/state/build-key-value-store.js'
import { CacheBudget } from '../../../../../topology/internals/state/cache-budget.js'
import { decodeChangelog, storeEnv, storeSpec, str } from './store-fixtures.js'

describe('CachingKeyValueStore', () => {
  it('keeps the latest write per key until flush: one changelog record and one listener call', () => {
    const { env, collector } = storeEnv()
    const { store } = buildKeyValueStore<string, number>(storeSpec(), env)
    const flushed: unknown[] = []
    expect(store.setFlushListener((k, n, o, ts) => flushed.push([k, n, o, ts]))).toBe(true)
    for (let i = 1; i <= 100; i++) store.put('a', i)
    expect(store.get('a')).toBe(100)
    expect(collector.size).toBe(0)
    store.flush()
    expect(flushed).toEqual([['a', 100, null, 1000]])
    expect(decodeChangelog(collector)).toEqual([['app-counts-changelog', 3, 'a', 100]])
    store.put('a', 101)
    store.flush()
    expect(flushed[1]).toEqual(['a', 101, 100, 1000])
  })

  it('flushes a delete as a tombstone with the old value, and skips put-then-delete of a new key', () => {
    const { env, collector } = storeEnv()
    const { store } = buildKeyValueStore<string, number>(storeSpec(), env)
    const flushed: unknown[] = []
    store.setFlushListener((k, n, o) => flushed.push([k, n, o]))
    store.put('a', 1)
    store.flush()
    store.delete('a')
    store.put('b', 2)
    store.delete('b')
    expect(store.get('a')).toBeUndefined()
    store.flush()
    expect(flushed).toEqual([
      ['a', 1, null],
      ['a', null, 1],
    ])
    expect(decodeChangelog(collector)).toEqual([
      ['app-counts-changelog', 3, 'a', 1],
      ['app-counts-changelog', 3, 'a', null],
    ])
  })

  it('evicts the oldest dirty entries when over its byte budget, under their own record context', () => {
    const { env, collector } = storeEnv(150)
    const { store } = buildKeyValueStore<string, number>(storeSpec(), env)
    store.put('a', 1)
    env.recordContext.current = { topic: 'in', partition: 3, offset: 8, timestamp: 2000, headers: new Map() }
    store.put('b', 2)
    store.put('c', 3)
    const early = collector.drain()
    expect(early.length).toBeGreaterThan(0)
    expect(str.deserialize('', early[0]?.key as Buffer)).toBe('a')
    expect(early[0]?.timestamp).toBe(1000)
    expect(env.recordContext.current?.timestamp).toBe(2000)
  })

  it('all() shows cached values over stored ones', () => {
    const { env } = storeEnv()
    const { store } = buildKeyValueStore<string, number>(storeSpec(), env)
    store.put('a', 1)
    store.put('b', 1)
    store.flush()
    store.put('a', 2)
    store.delete('b')
    store.put('c', 3)
    expect(new Map(store.all())).toEqual(
      new Map([
        ['a', 2],
        ['c', 3],
      ]),
    )
  })
})

describe('a cache budget shared by the stores of a task', () => {
  function twoStores(maxBytes: number) {
    const budget = new CacheBudget(maxBytes)
    const { env, collector } = storeEnv(maxBytes, undefined, budget)
    const first = buildKeyValueStore<string, number>(storeSpec({ name: 'first' }), env).store
    const second = buildKeyValueStore<string, number>(storeSpec({ name: 'second' }), env).store
    const flushed: string[] = []
    first.setFlushListener((k) => flushed.push(`first:${k}`))
    second.setFlushListener((k) => flushed.push(`second:${k}`))
    return { budget, first, second, flushed, collector }
  }

  it('counts the dirty bytes of every store against one budget', () => {
    const { budget, first, second } = twoStores(1 << 20)
    first.put('a', 1)
    const one = budget.bytes
    second.put('a', 1)
    expect(budget.bytes).toBe(2 * one)
    first.flush()
    expect(budget.bytes).toBe(one)
    second.flush()
    expect(budget.bytes).toBe(0)
  })

  it('re-measures an overwritten value within 8 writes, and at once when it becomes a tombstone', () => {
    const budget = new CacheBudget(1 << 20)
    const { env } = storeEnv(1 << 20, undefined, budget)
    const store = buildKeyValueStore<string, string>(
      storeSpec({ name: 'texts', valueSerde: str as never }),
      env,
    ).store
    store.put('a', 'x')
    const small = budget.bytes
    // A value that grows: the budget still counts the first size for up to 7 overwrites, then the new one.
    const big = 'y'.repeat(10_000)
    const seen: number[] = []
    for (let i = 0; i < 8; i++) {
      store.put('a', big)
      seen.push(budget.bytes)
    }
    expect(seen.slice(0, 7)).toEqual(Array(7).fill(small))
    expect(seen[7]).toBeGreaterThan(small + 19_000)
    store.delete('a')
    expect(budget.bytes).toBeLessThan(small + 100)
    store.put('a', big)
    expect(budget.bytes).toBeGreaterThan(small + 19_000)
    store.flush()
    expect(budget.bytes).toBe(0)
  })

  it('evicts from the store holding the oldest dirty entry, even when another store fills the budget', () => {
    const { first, second, flushed } = twoStores(300)
    first.put('old', 1) // the oldest dirty entry of the task
    for (let i = 0; i < 5; i++) second.put(`k${i}`, i)
    expect(flushed[0]).toBe('first:old')
    expect(flushed.slice(1).every((f) => f.startsWith('second:'))).toBe(true)
    expect(first.get('old')).toBe(1)
  })

  it('updating an entry keeps its age; a flushed store no longer competes', () => {
    const { first, second, flushed } = twoStores(300)
    first.put('a', 1)
    second.put('b', 1)
    first.put('a', 2) // still older than second's b
    first.flush()
    expect(flushed).toEqual(['first:a'])
    for (let i = 0; i < 5; i++) first.put(`k${i}`, i)
    expect(flushed[1]).toBe('second:b')
  })

  it('is one budget per task: a StreamTask gives all its stores the same', () => {
    const b = new StreamsBuilder()
    const grouped = b.stream<string, string>('in', { keySerde: str, valueSerde: str }).groupByKey()
    grouped.count()
    grouped.reduce((x, y) => x + y)
    const driver = new TopologyTestDriver(b.build(), { autoCommit: false, cacheMaxBytes: 400 })
    const input = driver.createInputTopic('in', str, str)
    // Each store alone would hold these 4 keys within 400 bytes; together they must evict.
    for (const k of ['a', 'b', 'c', 'd']) input.pipeInput(k, 'v')
    const changelogs = driver.producedTopicNames().filter((t) => t.endsWith('-changelog'))
    expect(changelogs.length).toBeGreaterThan(0)
  })
})
