// The metered layer: times each operation when metrics are on, and tells a processor whether a cache
// will call its flush listener.
import { describe, expect, it } from 'vitest'
import type { EngineMetrics, StoreOperation } from '../../../../../topology/index.js'
import { buildKeyValueStore } from '../../../../../topology/internals/state/build-key-value-store.js'
import { storeEnv, storeSpec } from './store-fixtures.js'

describe('MeteredKeyValueStore', () => {
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
    const { store } = buildKeyValueStore<string, number>(storeSpec(), storeEnv(1 << 20, metrics).env)
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

  it('refuses the flush listener when there is no cache: writes go straight through', () => {
    const { env, collector } = storeEnv()
    const { store } = buildKeyValueStore<string, number>(storeSpec({ cachingEnabled: false }), env)
    expect(store.setFlushListener(() => {})).toBe(false)
    store.put('a', 1)
    expect(collector.size).toBe(1)
  })
})
