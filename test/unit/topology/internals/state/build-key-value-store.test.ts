// Assembly of the layers and the restore path (each layer has its own test file).
import { describe, expect, it } from 'vitest'
import { buildKeyValueStore } from '../../../../../topology/internals/state/build-key-value-store.js'
import { storeEnv, storeSpec } from './store-fixtures.js'

describe('buildKeyValueStore', () => {
  it('rebuilds the same contents from the changelog, bypassing cache and logging', () => {
    const source = storeEnv()
    const original = buildKeyValueStore<string, number>(storeSpec(), source.env)
    for (let i = 0; i < 50; i++) original.store.put(`k${i % 7}`, i)
    original.store.delete('k3')
    original.store.flush()
    const changelog = source.collector.drain()

    const target = storeEnv()
    const restored = buildKeyValueStore<string, number>(storeSpec(), target.env)
    const flushed: unknown[] = []
    restored.store.setFlushListener((k) => flushed.push(k))
    expect(restored.restore(changelog)).toBe(changelog.length)
    restored.store.flush()
    expect(new Map(restored.store.all())).toEqual(new Map(original.store.all()))
    expect(target.collector.size).toBe(0)
    expect(flushed).toEqual([])
  })

  it('turns the cache off with a zero budget', () => {
    const { env } = storeEnv(0)
    const built = buildKeyValueStore<string, number>(storeSpec(), env)
    expect(built.store.setFlushListener(() => {})).toBe(false)
    built.store.put('a', 1)
    expect(built.hasDirtyEntries()).toBe(false)
  })
})
