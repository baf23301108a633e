// Window and session stores kept in LMDB (stateStore 'lmdb') across a clean restart: the checkpoint
// keeps their entries, and with them what a restore of the changelog would have set beside the entries
// (the largest end, which drives retention, and the aggregate processor's emit-close marker). What they
// share with the in-memory stores is tested in window-store.test.ts, in both modes.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { isTopologyError, Serdes, StreamsBuilder, TopologyTestDriver } from '../../../../../topology/index.js'
import {
  KEYS_PER_TRANSACTION,
  LmdbStores,
} from '../../../../../topology/internals/state/lmdb-key-value-store.js'
import { MAX_WINDOW_KEY_BYTES } from '../../../../../topology/internals/state/lmdb-window-layer.js'
import type { StoreEnvironment } from '../../../../../topology/internals/state/store-environment.js'
import {
  buildSessionStore,
  buildWindowStore,
  type WindowStoreSpec,
} from '../../../../../topology/internals/state/window-build-store.js'
import { Window } from '../../../../../topology/windows/index.js'
import { storeEnv } from './store-fixtures.js'

const str = Serdes.String()
const long = Serdes.Long()
const root = mkdtempSync(join(tmpdir(), 'lmdb-window-layer-test-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** The fixtures' store environment (task 0_3, partition 3, no cache) with the windows in `lmdb`. */
function windowsIn(lmdb: LmdbStores): StoreEnvironment {
  return { ...storeEnv(0).env, lmdb, lmdbWindows: true }
}

const wspec: WindowStoreSpec = {
  kind: 'window',
  name: 'w',
  keySerde: str as never,
  valueSerde: long as never,
  cachingEnabled: false,
  loggingEnabled: true,
  windowSizeMs: 10,
  retentionMs: 30,
}
const changelog = { topic: 'app-w-changelog', topicId: 'id-1', partition: 3 }

describe('a window store in LMDB across a clean restart', () => {
  it('keeps its windows, its largest end and its marker: nothing to restore, retention as before', async () => {
    const dir = join(root, 'window')
    const first = new LmdbStores(dir, { checkpoints: true })
    const before = buildWindowStore<string, number>(wspec, windowsIn(first))
    before.afterRestore()
    for (let start = 0; start <= 100; start += 10) before.store.put('a', start, start)
    before.store.put('b', 7, 90)
    before.store.processorMarker.setStreamTime(105)
    before.store.processorMarker.setCloseTime(80)
    before.store.flush()
    const contents = before.store.all().map(([w, v]) => [w.key, w.window.start, v])
    // Retention 30 from the largest end, 110: the windows ending after 80 are left.
    expect(contents).toEqual([
      ['a', 80, 80],
      ['a', 90, 90],
      ['b', 90, 7],
      ['a', 100, 100],
    ])
    expect(await first.checkpoint([{ database: '0_3/w', ...changelog, offset: 12 }])).toBe(true)
    before.store.close()
    first.close()

    const second = new LmdbStores(dir, { checkpoints: true })
    const after = buildWindowStore<string, number>(wspec, windowsIn(second))
    expect(second.restoreFrom('0_3/w', { ...changelog, start: 0, end: 12 })).toBe(12)
    after.afterRestore()
    expect(after.store.all().map(([w, v]) => [w.key, w.window.start, v])).toEqual(contents)
    expect(after.store.processorMarker.streamTime).toBe(105)
    expect(after.store.processorMarker.closeTime).toBe(80)
    expect(after.store.fetchRange('a', 85, 100)).toEqual([
      [90, 90],
      [100, 100],
    ])
    // The largest end came back with the files: a window already out of retention stays out.
    after.store.put('c', 1, 70)
    expect(after.store.fetch('c', 70)).toBeUndefined()
    // And the next window past it expires the oldest, as it would have before the restart.
    after.store.put('c', 2, 110)
    expect(after.store.fetch('a', 80)).toBeUndefined()
    expect(after.store.fetch('c', 110)).toBe(2)
    after.store.close()
    second.close()
  })

  it('keeps a flush larger than one LMDB transaction whole, marker and deletes included', async () => {
    const dir = join(root, 'large-flush')
    const spec = { ...wspec, retentionMs: 1_000_000 }
    const first = new LmdbStores(dir, { checkpoints: true })
    const before = buildWindowStore<string, number>(spec, windowsIn(first))
    before.afterRestore()
    // Two keys per window (entry and index): several transactions each way.
    const count = KEYS_PER_TRANSACTION * 2 + 3
    for (let i = 0; i < count; i++) before.store.put(`k${i}`, i, (i % 100) * 10)
    before.store.processorMarker.setStreamTime(995)
    before.store.flush()
    for (let i = 0; i < count; i += 3) before.store.put(`k${i}`, null, (i % 100) * 10)
    before.store.flush()
    const left = count - Math.ceil(count / 3)
    expect(before.store.all()).toHaveLength(left)
    expect(await first.checkpoint([{ database: '0_3/w', ...changelog, offset: 40 }])).toBe(true)
    before.store.close()
    first.close()

    const second = new LmdbStores(dir, { checkpoints: true })
    const after = buildWindowStore<string, number>(spec, windowsIn(second))
    expect(second.restoreFrom('0_3/w', { ...changelog, start: 0, end: 40 })).toBe(40)
    after.afterRestore()
    expect(after.store.all()).toHaveLength(left)
    expect(after.store.fetch('k1234', 340)).toBe(1234)
    expect(after.store.fetch('k1233', 330)).toBeUndefined()
    expect(after.store.processorMarker.streamTime).toBe(995)
    after.store.close()
    second.close()
  })

  it('takes the changelog tail over the checkpointed files, marker included', async () => {
    const dir = join(root, 'tail')
    const first = new LmdbStores(dir, { checkpoints: true })
    const before = buildWindowStore<string, number>(wspec, windowsIn(first))
    before.afterRestore()
    before.store.put('a', 1, 0)
    before.store.processorMarker.setStreamTime(5)
    before.store.flush()
    expect(await first.checkpoint([{ database: '0_3/w', ...changelog, offset: 2 }])).toBe(true)
    before.store.close()
    first.close()
    // What a later run wrote to the changelog after the checkpoint's offset (and lost from its files).
    const later = new LmdbStores(join(root, 'later'))
    const { env: writerEnv, collector } = storeEnv(0)
    const writer = buildWindowStore<string, number>(wspec, { ...writerEnv, lmdb: later, lmdbWindows: true })
    writer.afterRestore()
    writer.store.put('a', 2, 0)
    writer.store.put('b', 3, 10)
    writer.store.processorMarker.setStreamTime(15)
    writer.store.flush()
    const tail = collector.drain()
    expect(tail).toHaveLength(3) // two windows and the marker
    writer.store.close()
    later.close()

    const second = new LmdbStores(dir, { checkpoints: true })
    const after = buildWindowStore<string, number>(wspec, windowsIn(second))
    expect(second.restoreFrom('0_3/w', { ...changelog, start: 0, end: 9 })).toBe(2)
    expect(after.restore(tail)).toBe(2)
    after.afterRestore()
    expect(after.store.all().map(([w, v]) => [w.key, w.window.start, v])).toEqual([
      ['a', 0, 2],
      ['b', 10, 3],
    ])
    expect(after.store.processorMarker.streamTime).toBe(15)
    after.store.close()
    second.close()
  })

  it('a session store keeps its sessions and its marker', async () => {
    const dir = join(root, 'session')
    const spec = { ...wspec, kind: 'session' as const, name: 's', retentionMs: 50 }
    const first = new LmdbStores(dir, { checkpoints: true })
    const before = buildSessionStore<string, number>(spec, windowsIn(first))
    before.afterRestore()
    before.store.put('a', new Window(0, 4), 1)
    before.store.put('a', new Window(10, 30), 2)
    before.store.put('b', new Window(12, 12), 3)
    before.store.processorMarker.setStreamTime(30)
    before.store.flush()
    expect(await first.checkpoint([{ database: '0_3/s', ...changelog, offset: 3 }])).toBe(true)
    before.store.close()
    first.close()

    const second = new LmdbStores(dir, { checkpoints: true })
    const after = buildSessionStore<string, number>(spec, windowsIn(second))
    expect(second.restoreFrom('0_3/s', { ...changelog, start: 0, end: 3 })).toBe(3)
    after.afterRestore()
    expect(after.store.findSessions('a', 0, 40).map(([w, v]) => [w.window.start, w.window.end, v])).toEqual([
      [0, 4, 1],
      [10, 30, 2],
    ])
    expect(after.store.processorMarker.streamTime).toBe(30)
    after.store.put('c', new Window(60, 60), 4) // largest end 60: sessions ending at or before 10 expire
    expect(after.store.fetchSession('a', 0, 4)).toBeUndefined()
    expect(after.store.fetchSession('b', 12, 12)).toBe(3)
    after.store.close()
    second.close()
  })
})

describe('a window store in LMDB', () => {
  it('is there only with windowStateStore lmdb: beside tables in LMDB, windows stay in memory by default', () => {
    const env = new LmdbStores(join(root, 'default'))
    const { lmdbWindows: _, ...tablesOnly } = windowsIn(env)
    expect(buildWindowStore<string, number>(wspec, tablesOnly).store.persistent).toBe(false)
    expect(buildWindowStore<string, number>(wspec, windowsIn(env)).store.persistent).toBe(true)
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('in', { keySerde: str, valueSerde: str })
      .to('out', { keySerde: str, valueSerde: str })
    expect(
      () =>
        new TopologyTestDriver(builder.build(), {
          stateStore: 'memory',
          windowStateStore: 'lmdb',
        }),
    ).toThrow(/windowStateStore: got "lmdb", expected 'memory', or 'lmdb' with stateStore 'lmdb'/)
    env.close()
  })

  it('refuses a key longer than LMDB allows, saying how to fix it, and finds nothing under it', () => {
    const env = new LmdbStores(join(root, 'long'))
    const { store } = buildWindowStore<string, number>(wspec, windowsIn(env))
    const long = 'k'.repeat(MAX_WINDOW_KEY_BYTES + 1)
    let caught: unknown
    try {
      store.put(long, 1, 0)
    } catch (error) {
      caught = error
    }
    expect(isTopologyError(caught) && caught.code).toBe('STORE_KEY_TOO_LARGE')
    expect(String((caught as Error).message)).toContain("windowStateStore 'memory'")
    expect(store.fetch(long, 0)).toBeUndefined()
    expect(store.fetchRange(long, 0, 100)).toEqual([])
    // Deleting it has nothing to remove, and the flush does not hand LMDB a key it refuses.
    store.put(long, null, 0)
    store.flush()
    expect(store.fetch(long, 0)).toBeUndefined()
    // The longest key allowed is kept.
    const longest = 'k'.repeat(MAX_WINDOW_KEY_BYTES)
    store.put(longest, 2, 0)
    store.flush()
    expect(store.fetch(longest, 0)).toBe(2)
    expect(store.fetchAll(0, 0).map(([w, v]) => [w.key.length, v])).toEqual([[MAX_WINDOW_KEY_BYTES, 2]])
    store.close()
    env.close()
  })

  it('holds in memory only the writes since its last flush', () => {
    const env = new LmdbStores(join(root, 'bytes'))
    const { store } = buildWindowStore<string, number>({ ...wspec, retentionMs: 1e9 }, windowsIn(env))
    for (let i = 0; i < 2000; i++) store.put(`key-${i}`, i, 0)
    expect(store.approximateBytes()).toBeGreaterThan(2000 * 20)
    store.flush()
    expect(store.approximateBytes()).toBeLessThan(5000) // the empty pending layer's arrays
    expect(store.approximateNumEntries()).toBe(2000)
    expect(store.fetch('key-1234', 0)).toBe(1234)
    store.close()
    env.close()
  })
})
