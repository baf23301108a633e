// The store layers, each alone and assembled: in-memory, change-logging (tombstones), caching
// (dedupe, old values, eviction), metered (hooks), and restore from the changelog.
import { describe, expect, it } from 'vitest'
import type { EngineMetrics, StoreOperation } from '../../../../../topology/index.js'
import { NO_METRICS, Serdes } from '../../../../../topology/index.js'
import type { StoreSpec } from '../../../../../topology/internals/graph/topology-graph.js'
import { BufferingRecordCollector } from '../../../../../topology/internals/runtime/record-collector.js'
import { buildKeyValueStore } from '../../../../../topology/internals/state/build-key-value-store.js'
import { InMemoryKeyValueStore } from '../../../../../topology/internals/state/in-memory-key-value-store.js'
import { keyIdFunction } from '../../../../../topology/internals/state/key-id.js'
import type { StoreEnvironment } from '../../../../../topology/internals/state/store-environment.js'

const str = Serdes.String()
const long = Serdes.Long()

function env(cacheMaxBytes = 1 << 20, metrics: EngineMetrics = NO_METRICS) {
  const collector = new BufferingRecordCollector()
  const e: StoreEnvironment = {
    applicationId: 'app',
    taskId: '0_3',
    partition: 3,
    collector,
    recordContext: { current: { topic: 'in', partition: 3, offset: 7, timestamp: 1000, headers: new Map() } },
    metrics,
    cacheMaxBytes,
  }
  return { env: e, collector }
}

function spec(over: Partial<StoreSpec> = {}): StoreSpec {
  return {
    name: 'counts',
    keySerde: str as never,
    valueSerde: long as never,
    cachingEnabled: true,
    loggingEnabled: true,
    ...over,
  }
}

const decode = (c: BufferingRecordCollector) =>
  c
    .drain()
    .map((r) => [
      r.topic,
      r.partition,
      str.deserialize('', r.key as Buffer),
      r.value === null ? null : long.deserialize('', r.value),
    ])

describe('in-memory store', () => {
  it('keeps objects by a stable id, including structured keys', () => {
    const store = new InMemoryKeyValueStore<{ id: number }, string>(
      's',
      keyIdFunction(Serdes.Json<{ id: number }>(), 't'),
    )
    store.put({ id: 1 }, 'one')
    expect(store.get({ id: 1 })).toBe('one')
    expect(store.putIfAbsent({ id: 1 }, 'uno')).toBe('one')
    expect([...store.all()]).toEqual([[{ id: 1 }, 'one']])
    expect(store.delete({ id: 1 })).toBe('one')
    expect(store.approximateNumEntries()).toBe(0)
  })
})

describe('change-logging layer', () => {
  it('logs each write to <app>-<store>-changelog on the task partition, a tombstone for a delete', () => {
    const { env: e, collector } = env()
    const { store } = buildKeyValueStore<string, number>(spec({ cachingEnabled: false }), e)
    store.put('a', 1)
    store.delete('a')
    expect(decode(collector)).toEqual([
      ['app-counts-changelog', 3, 'a', 1],
      ['app-counts-changelog', 3, 'a', null],
    ])
  })

  it('is absent when logging is disabled', () => {
    const { env: e, collector } = env()
    const built = buildKeyValueStore<string, number>(
      spec({ cachingEnabled: false, loggingEnabled: false }),
      e,
    )
    built.store.put('a', 1)
    expect(collector.size).toBe(0)
    expect(built.changelogTopic).toBeUndefined()
  })
})

describe('caching layer', () => {
  it('keeps the latest write per key until flush: one changelog record and one listener call', () => {
    const { env: e, collector } = env()
    const { store } = buildKeyValueStore<string, number>(spec(), e)
    const flushed: unknown[] = []
    expect(store.setFlushListener((k, n, o, ts) => flushed.push([k, n, o, ts]))).toBe(true)
    for (let i = 1; i <= 100; i++) store.put('a', i)
    expect(store.get('a')).toBe(100)
    expect(collector.size).toBe(0)
    store.flush()
    expect(flushed).toEqual([['a', 100, null, 1000]])
    expect(decode(collector)).toEqual([['app-counts-changelog', 3, 'a', 100]])
    store.put('a', 101)
    store.flush()
    expect(flushed[1]).toEqual(['a', 101, 100, 1000])
  })

  it('flushes a delete as a tombstone with the old value, and skips put-then-delete of a new key', () => {
    const { env: e, collector } = env()
    const { store } = buildKeyValueStore<string, number>(spec(), e)
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
    expect(decode(collector)).toEqual([
      ['app-counts-changelog', 3, 'a', 1],
      ['app-counts-changelog', 3, 'a', null],
    ])
  })

  it('evicts the oldest dirty entries when over its byte budget, under their own record context', () => {
    const { env: e, collector } = env(150)
    const { store } = buildKeyValueStore<string, number>(spec(), e)
    store.put('a', 1)
    e.recordContext.current = { topic: 'in', partition: 3, offset: 8, timestamp: 2000, headers: new Map() }
    store.put('b', 2)
    store.put('c', 3)
    const early = collector.drain()
    expect(early.length).toBeGreaterThan(0)
    expect(str.deserialize('', early[0]?.key as Buffer)).toBe('a')
    expect(early[0]?.timestamp).toBe(1000)
    expect(e.recordContext.current?.timestamp).toBe(2000)
  })

  it('all() shows cached values over stored ones', () => {
    const { env: e } = env()
    const { store } = buildKeyValueStore<string, number>(spec(), e)
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

  it('is absent when caching is disabled: the listener is refused and writes go straight through', () => {
    const { env: e, collector } = env()
    const { store } = buildKeyValueStore<string, number>(spec({ cachingEnabled: false }), e)
    expect(store.setFlushListener(() => {})).toBe(false)
    store.put('a', 1)
    expect(collector.size).toBe(1)
  })
})

describe('metered layer', () => {
  it('reports each operation with its duration when metrics are enabled', () => {
    const seen: [string, StoreOperation][] = []
    const metrics: EngineMetrics = {
      enabled: true,
      storeOperation: (store, op, ms) => {
        expect(ms).toBeGreaterThanOrEqual(0)
        seen.push([store, op])
      },
      recordsProcessed: () => {},
    }
    const { store } = buildKeyValueStore<string, number>(spec(), env(1 << 20, metrics).env)
    store.put('a', 1)
    store.get('a')
    store.delete('a')
    store.flush()
    expect(seen).toEqual([
      ['counts', 'put'],
      ['counts', 'get'],
      ['counts', 'delete'],
      ['counts', 'flush'],
    ])
  })
})

describe('restore', () => {
  it('rebuilds the same contents from the changelog, bypassing cache and logging', () => {
    const source = env()
    const original = buildKeyValueStore<string, number>(spec(), source.env)
    for (let i = 0; i < 50; i++) original.store.put(`k${i % 7}`, i)
    original.store.delete('k3')
    original.store.flush()
    const changelog = source.collector.drain()

    const target = env()
    const restored = buildKeyValueStore<string, number>(spec(), target.env)
    const flushed: unknown[] = []
    restored.store.setFlushListener((k) => flushed.push(k))
    expect(restored.restore(changelog)).toBe(changelog.length)
    restored.store.flush()
    expect(new Map(restored.store.all())).toEqual(new Map(original.store.all()))
    expect(target.collector.size).toBe(0)
    expect(flushed).toEqual([])
  })
})
