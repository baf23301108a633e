// Window and session stores assembled as a task builds them: retention by stream time with a changelog
// tombstone per expired window, restore from the changelog, and the cache's flush semantics. Every test
// runs with the entries in memory and in LMDB (stateStore 'lmdb').
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NO_METRICS, Serdes } from '../../../../topology/index.js'
import {
  BufferingRecordCollector,
  type ProducerRecord,
} from '../../../../topology/internals/runtime/record-collector.js'
import { LmdbStores } from '../../../../topology/internals/state/lmdb-key-value-store.js'
import type { StoreEnvironment } from '../../../../topology/internals/state/store-environment.js'
import {
  buildSessionStore,
  buildWindowStore,
  type SessionStoreSpec,
  type WindowStoreSpec,
} from '../../../../topology/internals/state/window-build-store.js'
import {
  sessionChangelogKeyCodec,
  windowChangelogKeyCodec,
} from '../../../../topology/internals/state/window-changelog-key.js'
import { Window } from '../../../../topology/windows/index.js'

const str = Serdes.String()
const long = Serdes.Long()

const MODES = ['memory', 'lmdb'] as const
/** The environment the stores of the describe block running now keep their entries in (lmdb mode). */
let lmdb: LmdbStores | undefined

function inMode(mode: (typeof MODES)[number]): void {
  beforeAll(() => {
    lmdb = mode === 'lmdb' ? new LmdbStores(mkdtempSync(join(tmpdir(), 'window-store-test-'))) : undefined
  })
  afterAll(() => {
    lmdb?.close()
    lmdb = undefined
  })
}

function env(cacheMaxBytes = 0) {
  const collector = new BufferingRecordCollector()
  const e: StoreEnvironment = {
    applicationId: 'app',
    taskId: '0_1',
    partition: 1,
    collector,
    recordContext: { current: { topic: 'in', partition: 1, offset: 0, timestamp: 0, headers: new Map() } },
    metrics: NO_METRICS,
    cacheMaxBytes,
    ...(lmdb === undefined ? {} : { lmdb, lmdbWindows: true }),
  }
  return {
    env: e,
    collector,
    at: (ts: number) =>
      (e.recordContext.current = { topic: 'in', partition: 1, offset: 0, timestamp: ts, headers: new Map() }),
  }
}

function wspec(over: Partial<WindowStoreSpec> = {}): WindowStoreSpec {
  return {
    kind: 'window',
    name: 'w',
    keySerde: str as never,
    valueSerde: long as never,
    cachingEnabled: false,
    loggingEnabled: true,
    windowSizeMs: 10,
    retentionMs: 15,
    ...over,
  }
}

function sspec(over: Partial<SessionStoreSpec> = {}): SessionStoreSpec {
  return {
    kind: 'session',
    name: 's',
    keySerde: str as never,
    valueSerde: long as never,
    cachingEnabled: false,
    loggingEnabled: true,
    retentionMs: 5,
    ...over,
  }
}

const wcodec = windowChangelogKeyCodec(str, 10)
function decodeWindow(records: ProducerRecord[]) {
  return records.map((r) => {
    const k = wcodec.decode('app-w-changelog', r.key as Buffer)
    return [k.key, k.start, r.value === null ? null : long.deserialize('', r.value)]
  })
}

describe.each(MODES)('window store, entries in %s', (mode) => {
  inMode(mode)

  it('logs writes with the changelog key layout [key][start int64][seqnum int32]', () => {
    const { env: e, collector } = env()
    const { store, changelogTopic } = buildWindowStore<string, number>(wspec(), e)
    expect(store.persistent).toBe(mode === 'lmdb')
    store.put('a', 7, 20)
    const [r] = collector.drain()
    expect(changelogTopic).toBe('app-w-changelog')
    expect(r?.topic).toBe('app-w-changelog')
    expect(r?.partition).toBe(1)
    expect(r?.key?.toString('hex')).toBe(`61${'0000000000000014'}00000000`)
    expect(store.fetch('a', 20)).toBe(7)
    expect(store.fetch('a', 10)).toBeUndefined()
  })

  it('expires windows by stream time (end <= latest end - retention), with a tombstone each', () => {
    const { env: e, collector, at } = env()
    const { store } = buildWindowStore<string, number>(wspec(), e)
    at(5)
    store.put('a', 1, 0) // [0,10)
    store.put('b', 2, 0)
    store.put('a', 3, 10) // [10,20)
    at(24)
    store.put('a', 4, 20) // [20,30): latest end 30, retention 15: ends <= 15 expire, i.e. [0,10)
    expect(store.fetch('a', 0)).toBeUndefined()
    expect(store.fetch('b', 0)).toBeUndefined()
    expect(store.fetch('a', 10)).toBe(3)
    const log = collector.drain()
    expect(decodeWindow(log)).toEqual([
      ['a', 0, 1],
      ['b', 0, 2],
      ['a', 10, 3],
      ['a', 0, null],
      ['b', 0, null],
      ['a', 20, 4],
    ])
    // tombstones carry the timestamp of the record that advanced stream time
    expect(log[3]?.timestamp).toBe(24)
    // a write to an expired window is dropped and not logged
    store.put('c', 9, 0)
    expect(store.fetch('c', 0)).toBeUndefined()
    expect(collector.drain()).toEqual([])
  })

  it('retention boundary: a window lives while end > latest end - retention', () => {
    const { env: e } = env()
    const { store } = buildWindowStore<string, number>(wspec({ windowSizeMs: 10, retentionMs: 15 }), e)
    store.put('a', 1, 0) // [0,10)
    store.put('b', 1, 14) // latest end 24: 10 > 9, kept
    expect(store.fetch('a', 0)).toBe(1)
    store.put('b', 1, 15) // latest end 25: 10 <= 10, expired
    expect(store.fetch('a', 0)).toBeUndefined()
    store.put('a', 2, 0) // and a write to it is dropped
    expect(store.fetch('a', 0)).toBeUndefined()
  })

  it('fetchRange and fetchAll by window start', () => {
    const { env: e } = env()
    const { store } = buildWindowStore<string, number>(wspec({ retentionMs: 1000 }), e)
    for (const s of [0, 5, 10, 15]) store.put('a', s, s)
    store.put('b', 100, 5)
    expect(store.fetchRange('a', 5, 10)).toEqual([
      [5, 5],
      [10, 10],
    ])
    expect(store.fetchAll(5, 5).map(([w, v]) => [w.key, w.window.start, w.window.end, v])).toEqual([
      ['a', 5, 15, 5],
      ['b', 5, 15, 100],
    ])
  })

  // Kafka Streams' emit-final iterates its time-ordered window store, keyed [start][serialized key][seqnum]:
  // windows read together come out by start, then by the key's bytes (unsigned), not by JS string order.
  it('fetchAll and all() order by start, then serialized key bytes, with the cache on or off', () => {
    const fw = '\uFF5E' // UTF-8 ef bd 9e
    const emoji = '\u{1F600}' // UTF-8 f0 9f 98 80, but before fw in UTF-16 (d83d)
    for (const cache of [0, 1 << 20]) {
      const { env: e } = env(cache)
      const { store } = buildWindowStore<string, number>(
        wspec({ retentionMs: 1000, cachingEnabled: cache > 0 }),
        e,
      )
      store.put('b', 1, 10)
      store.put(emoji, 2, 10)
      store.put('a', 3, 0)
      store.put(fw, 4, 10)
      store.put('ab', 5, 10)
      store.flush()
      store.put('aa', 6, 10) // dirty in the cache, when there is one
      store.put('b', 7, 10)
      const expected = [
        ['a', 0, 3],
        ['aa', 10, 6],
        ['ab', 10, 5],
        ['b', 10, 7],
        [fw, 10, 4],
        [emoji, 10, 2],
      ]
      expect(store.fetchAll(0, 10).map(([w, v]) => [w.key, w.window.start, v])).toEqual(expected)
      expect(store.all().map(([w, v]) => [w.key, w.window.start, v])).toEqual(expected)
    }
  })

  it('restores from its changelog to the same contents, whatever the order of writes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('a', 'b', 'c'),
            fc.integer({ min: 0, max: 30 }),
            fc.option(fc.integer({ min: 0, max: 99 })),
          ),
          {
            maxLength: 60,
          },
        ),
        fc.boolean(),
        (writes, cached) => {
          const { env: e, collector } = env(cached ? 1 << 20 : 0)
          const { store } = buildWindowStore<string, number>(wspec({ cachingEnabled: cached }), e)
          for (const [k, slot, v] of writes) store.put(k, v, slot * 5)
          store.flush()
          const log = collector.drain()
          const { env: e2 } = env()
          const restored = buildWindowStore<string, number>(wspec(), e2)
          restored.restore(log)
          const dump = (s: typeof store) =>
            s
              .all()
              .map(([w, v]) => [w.key, w.window.start, v])
              .sort()
          expect(dump(restored.store)).toEqual(dump(store))
          // and the changelog compacted (last record per key) holds exactly the live windows
          const last = new Map<string, Buffer | null>()
          for (const r of log) last.set((r.key as Buffer).toString('hex'), r.value)
          expect([...last.values()].filter((v) => v !== null).length).toBe(store.approximateNumEntries())
        },
      ),
    )
  })

  it('caches: one changelog record and one flush-listener call per window per flush, with the old value', () => {
    const { env: e, collector, at } = env(1 << 20)
    const { store, hasDirtyEntries } = buildWindowStore<string, number>(wspec({ cachingEnabled: true }), e)
    const seen: unknown[] = []
    expect(store.setFlushListener((k, s, end, n, o, ts) => seen.push([k, s, end, n, o, ts]))).toBe(true)
    at(1)
    store.put('a', 1, 0)
    at(2)
    store.put('a', 2, 0)
    expect(store.fetch('a', 0)).toBe(2)
    expect(store.fetchRange('a', 0, 0)).toEqual([[0, 2]])
    expect(collector.size).toBe(0)
    expect(hasDirtyEntries()).toBe(true)
    store.flush()
    expect(seen).toEqual([['a', 0, 10, 2, null, 2]])
    expect(decodeWindow(collector.drain())).toEqual([['a', 0, 2]])
    at(3)
    store.put('a', 5, 0)
    store.put('a', null, 0)
    store.flush()
    // updated then deleted in one interval: one tombstone, the listener sees the old value
    expect(seen[1]).toEqual(['a', 0, 10, null, 2, 3])
    expect(decodeWindow(collector.drain())).toEqual([['a', 0, null]])
    expect(hasDirtyEntries()).toBe(false)
  })

  it('without a cache, the listener is not taken (the processor forwards itself)', () => {
    const { store } = buildWindowStore<string, number>(wspec(), env().env)
    expect(store.setFlushListener(() => {})).toBe(false)
  })
})

describe.each(MODES)('session store, entries in %s', (mode) => {
  inMode(mode)
  const codec = sessionChangelogKeyCodec(str)

  it('logs [key][end int64][start int64], finds sessions, expires by end with tombstones, restores', () => {
    const { env: e, collector } = env()
    const { store } = buildSessionStore<string, number>(sspec({ retentionMs: 10 }), e)
    store.put('a', new Window(0, 3), 1)
    store.put('a', new Window(10, 12), 2)
    store.put('b', new Window(4, 4), 3)
    expect(collector.drain()[0]?.key?.toString('hex')).toBe(`61${'0000000000000003'}${'0000000000000000'}`)
    expect(store.findSessions('a', 2, 11).map(([w, v]) => [w.window.start, w.window.end, v])).toEqual([
      [0, 3, 1],
      [10, 12, 2],
    ])
    expect(store.findSessions('a', 4, 9)).toEqual([])
    store.put('c', new Window(20, 20), 4) // latest end 20, retention 10: ends <= 10 expire
    expect(store.fetchSession('a', 0, 3)).toBeUndefined()
    expect(store.fetchSession('a', 10, 12)).toBe(2)
    const log = collector.drain()
    const decoded = log.map((r) => {
      const k = codec.decode('t', r.key as Buffer)
      return [k.key, k.start, k.end, r.value === null ? null : long.deserialize('', r.value)]
    })
    expect(decoded).toEqual([
      ['a', 0, 3, null],
      ['b', 4, 4, null],
      ['c', 20, 20, 4],
    ])
    const restored = buildSessionStore<string, number>(sspec({ retentionMs: 10 }), env().env)
    restored.restore([
      { key: codec.encode('t', 'a', 0, 3), value: long.serialize('', 1) },
      { key: codec.encode('t', 'a', 10, 12), value: long.serialize('', 2) },
      { key: codec.encode('t', 'b', 4, 4), value: long.serialize('', 3) },
      ...log,
    ])
    expect(restored.store.all().map(([w, v]) => [w.key, w.window.start, w.window.end, v])).toEqual([
      ['a', 10, 12, 2],
      ['c', 20, 20, 4],
    ])
  })

  // Kafka's emit-final for sessions iterates its time-ordered session store, keyed
  // [end][start][serialized key] (PrefixedSessionKeySchemas.TimeFirstSessionKeySchema).
  it('findSessionsByEnd and all() order by end, then start, then serialized key bytes, cache on or off', () => {
    for (const cache of [0, 1 << 20]) {
      const { env: e } = env(cache)
      const { store } = buildSessionStore<string, number>(
        sspec({ retentionMs: 100, cachingEnabled: cache > 0 }),
        e,
      )
      store.put('b', new Window(2, 5), 1)
      store.put('a', new Window(3, 5), 2)
      store.flush()
      store.put('c', new Window(2, 5), 3)
      store.put('ab', new Window(2, 5), 4)
      store.put('a', new Window(1, 1), 5)
      store.put('z', new Window(0, 0), 6)
      const expected = [
        ['z', 0, 0, 6],
        ['a', 1, 1, 5],
        ['ab', 2, 5, 4],
        ['b', 2, 5, 1],
        ['c', 2, 5, 3],
        ['a', 3, 5, 2],
      ]
      const rows = (list: ReturnType<typeof store.all>) =>
        list.map(([w, v]) => [w.key, w.window.start, w.window.end, v])
      expect(rows(store.findSessionsByEnd(0, 5))).toEqual(expected)
      expect(rows(store.all())).toEqual(expected)
    }
  })

  // The in-memory layer's index by end (a list per end, slots expired by stream time) against a plain map.
  it('puts, removes and expiry give the contents of a naive map, in time then key order (property)', () => {
    const op = fc.tuple(
      fc.constantFrom('a', 'b', 'c', 'ab'),
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 0, max: 3 }),
      fc.option(fc.integer({ min: 1, max: 99 }), { freq: 2 }),
      // A flush after the write: in LMDB, the pending writes then go to the database, and later reads
      // and expiry combine both.
      fc.boolean(),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.integer({ min: 0, max: 20 }), (ops, retention) => {
        const { store } = buildSessionStore<string, number>(sspec({ retentionMs: retention }), env().env)
        const model = new Map<string, [string, number, number, number]>()
        let observed = Number.NEGATIVE_INFINITY
        for (const [key, start, length, value, flush] of ops) {
          const end = start + length
          store.put(key, new Window(start, end), value)
          if (flush) store.flush()
          const session = store.fetchSession(key, start, end)
          if (end > Math.max(observed, end) - retention) expect(session).toBe(value ?? undefined)
          observed = Math.max(observed, end)
          for (const [id, [, , e]] of model) if (e <= observed - retention) model.delete(id)
          if (end <= observed - retention) continue
          if (value === null) model.delete(`${key} ${start} ${end}`)
          else model.set(`${key} ${start} ${end}`, [key, start, end, value])
        }
        const expected = [...model.values()].sort(
          (x, y) => x[2] - y[2] || x[1] - y[1] || Buffer.compare(Buffer.from(x[0]), Buffer.from(y[0])),
        )
        const rows = (list: ReturnType<typeof store.all>) =>
          list.map(([w, v]) => [w.key, w.window.start, w.window.end, v])
        expect(rows(store.all())).toEqual(expected)
        expect(rows(store.findSessionsByEnd(20, 40))).toEqual(
          expected.filter(([, , e]) => e >= 20 && e <= 40),
        )
        for (const key of ['a', 'b', 'c', 'ab'])
          expect(
            store.findSessions(key, 0, 40).map(([w, v]) => [w.key, w.window.start, w.window.end, v]),
          ).toEqual(expected.filter(([k]) => k === key).sort((x, y) => x[1] - y[1] || x[2] - y[2]))
        expect(store.approximateNumEntries()).toBe(expected.length)
      }),
      { numRuns: 300 },
    )
  })

  it('removing a session writes a tombstone; the cache overlays removals on reads', () => {
    const { env: e, collector } = env(1 << 20)
    const { store } = buildSessionStore<string, number>(sspec({ cachingEnabled: true, retentionMs: 100 }), e)
    store.put('a', new Window(0, 3), 1)
    store.flush()
    collector.drain()
    store.remove('a', new Window(0, 3))
    store.put('a', new Window(0, 8), 2)
    expect(store.findSessions('a', 0, 10).map(([w, v]) => [w.window.end, v])).toEqual([[8, 2]])
    expect(store.findSessionsByEnd(0, 10).map(([w, v]) => [w.window.end, v])).toEqual([[8, 2]])
    store.flush()
    expect(collector.drain().map((r) => [codec.decode('t', r.key as Buffer).end, r.value === null])).toEqual([
      [3, true],
      [8, false],
    ])
  })
})
