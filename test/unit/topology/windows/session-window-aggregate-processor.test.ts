// The session window aggregate against a naive reference: merging (old sessions removed downstream and
// in the changelog), Kafka's late rule (merged end < stream time - grace - gap), emit-final once per
// session after it closes, and the cache's collapsing of a merge into one interval's net changes.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Change, Serdes } from '../../../../topology/index.js'
import { isEmitCloseMarkerKey } from '../../../../topology/internals/state/emit-close-marker.js'
import { buildSessionStore } from '../../../../topology/internals/state/window-build-store.js'
import { sessionChangelogKeyCodec } from '../../../../topology/internals/state/window-changelog-key.js'
import { SessionWindows, type Windowed } from '../../../../topology/windows/index.js'
import type { EmitStrategy } from '../../../../topology/windows/internals/emit-strategy.js'
import type { LateRecord } from '../../../../topology/windows/internals/late-records.js'
import { SessionWindowAggregateProcessor } from '../../../../topology/windows/internals/session-window-aggregate-processor.js'
import { Harness } from './harness.js'

type Out = Change<number>

function setup(windows: SessionWindows, emit: EmitStrategy, cache = 0, retentionMs?: number) {
  const h = new Harness<string, number, Windowed<string>, Out>(cache)
  const built = buildSessionStore<string, number>(
    {
      kind: 'session',
      name: 'sessions',
      keySerde: Serdes.String() as never,
      valueSerde: Serdes.Long() as never,
      cachingEnabled: cache > 0,
      loggingEnabled: true,
      retentionMs: retentionMs ?? windows.defaultRetentionMs + (emit === 'on-window-close' ? 1 : 0),
    },
    h.env,
  )
  h.addStore(built.store)
  const processor = new SessionWindowAggregateProcessor<string, number, number>({
    storeName: 'sessions',
    windows,
    initializer: () => 0,
    aggregator: (_k, v, a) => a + v,
    merger: (_k, a, b) => a + b,
    emit,
    lateChildName: 'late',
  })
  h.init(processor)
  return { h, processor, built }
}

const row = (f: { record: { key: Windowed<string>; value: Out } }) => [
  f.record.key.key,
  f.record.key.window.start,
  f.record.key.window.end,
  f.record.value.newValue,
  f.record.value.oldValue,
]

describe('SessionWindowAggregateProcessor', () => {
  it('merges sessions a record bridges: removals downstream and tombstones in the changelog', () => {
    const { h } = setup(SessionWindows.ofInactivityGapAndGrace(5, 100), 'on-window-update')
    h.pipe('a', 1, 0).pipe('a', 2, 10)
    expect(h.drain().map(row)).toEqual([
      ['a', 0, 0, 1, null],
      ['a', 10, 10, 2, null],
    ])
    h.pipe('a', 4, 5) // within 5 of both: merges [0,0] and [10,10] into [0,10]
    expect(h.drain().map(row)).toEqual([
      ['a', 0, 0, null, 1],
      ['a', 10, 10, null, 2],
      ['a', 0, 10, 7, null],
    ])
    const codec = sessionChangelogKeyCodec(Serdes.String())
    const log = h.collector.drain().map((r) => {
      const k = codec.decode('t', r.key as Buffer)
      return [k.start, k.end, r.value === null ? null : Serdes.Long().deserialize('', r.value)]
    })
    expect(log).toEqual([
      [0, 0, 1],
      [10, 10, 2],
      [0, 0, null],
      [10, 10, null],
      [0, 10, 7],
    ])
  })

  it('a record is late when its merged session ends before stream time - grace - gap', () => {
    const { h, processor } = setup(SessionWindows.ofInactivityGapAndGrace(5, 3), 'on-window-update', 0, 1000)
    h.pipe('a', 1, 20) // stream time 20, closeTime 12
    h.pipe('b', 1, 12) // [12,12]: end 12 is not < 12, accepted
    h.pipe('b', 1, 11) // merges with [12,12] into [11,12]: accepted
    h.pipe('c', 1, 11) // alone [11,11]: late
    expect(h.drain().map(row)).toEqual([
      ['a', 20, 20, 1, null],
      ['b', 12, 12, 1, null],
      ['b', 12, 12, null, 1],
      ['b', 11, 12, 2, null],
    ])
    const late = h.drain('late') as unknown as { record: { value: LateRecord<number> } }[]
    expect(late.map((f) => f.record.value.reason)).toEqual([
      {
        rule: 'session-closed',
        timestamp: 11,
        streamTime: 20,
        closeTime: 12,
        window: expect.objectContaining({ start: 11, end: 11 }),
      },
    ])
    expect(processor.lateRecordCount).toBe(1)
  })

  it('with a cache, a session created and merged away within one commit never reaches downstream', () => {
    const { h } = setup(SessionWindows.ofInactivityGapAndGrace(5, 100), 'on-window-update', 1 << 20)
    h.pipe('a', 1, 0).pipe('a', 2, 3).commit()
    expect(h.drain().map(row)).toEqual([['a', 0, 3, 3, null]])
    // Besides the processor's marker (stream time, see emit-close-marker.ts): one record per window.
    expect(h.collector.drain().filter((r) => !isEmitCloseMarkerKey(r.key as Buffer)).length).toBe(1)
  })

  it('gives the same sessions with the cache on or off when retention expires one (regression)', () => {
    // Found by the emit-final property: with the cache on, a session the store had already expired
    // (end <= largest end - retention) was still merged from the cache until the next flush.
    const sessions = (cache: number) => {
      const { h, built } = setup(SessionWindows.ofInactivityGapAndGrace(2, 0), 'on-window-close', cache)
      h.pipe('b', 1, 0).commit()
      h.pipe('a', 1, 3)
      h.pipe('b', 1, 1).commit()
      return [...built.store.all()].map(([w, v]) => `${w.key}@${w.window.start}-${w.window.end}=${v}`)
    }
    expect(sessions(1 << 20)).toEqual(sessions(0))
    expect(sessions(0)).toEqual(['b@1-1=1', 'a@3-3=1'])
  })

  // As Kafka Streams, which iterates its time-ordered session store ([end][start][serialized key]).
  it('emits the sessions one record closes by end, then start, then serialized key', () => {
    const { h } = setup(SessionWindows.ofInactivityGapAndGrace(2, 0), 'on-window-close')
    h.pipe('c', 1, 1).pipe('b', 1, 1).pipe('a', 1, 0).pipe('a', 1, 1).pipe('d', 1, 0)
    expect(h.drain()).toEqual([])
    h.pipe('z', 1, 100)
    expect(h.drain().map(row)).toEqual([
      ['d', 0, 0, 1, null],
      ['a', 0, 1, 2, null],
      ['b', 1, 1, 1, null],
      ['c', 1, 1, 1, null],
    ])
  })

  it('refuses emit-final on a store whose retention is not above gap + grace', () => {
    expect(() => setup(SessionWindows.ofInactivityGapAndGrace(5, 3), 'on-window-close', 0, 8)).toThrow(
      /retention above/,
    )
  })

  const arbRecords = fc.array(
    fc.tuple(
      fc.constantFrom('a', 'b', 'c'),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 0, max: 150 }),
    ),
    { maxLength: 80 },
  )
  const arbWindows = fc
    .tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 30 }))
    .map(([gap, grace]) => SessionWindows.ofInactivityGapAndGrace(gap, grace))

  interface S {
    start: number
    end: number
    sum: number
  }

  // The naive reading of Kafka's algorithm over a plain list of sessions per key. A session is visible
  // while its end > (largest end written) - retention, as in Kafka Streams' stores.
  function naive(windows: SessionWindows, retention: number, records: [string, number, number][]) {
    const gap = windows.inactivityGapMs
    let streamTime = Number.NEGATIVE_INFINITY
    let observedEnd = Number.NEGATIVE_INFINITY
    const sessions = new Map<string, S[]>()
    const updates: unknown[] = []
    let late = 0
    for (const [k, v, t] of records) {
      streamTime = Math.max(streamTime, t)
      const list = (sessions.get(k) ?? []).filter((s) => s.end > observedEnd - retention)
      const found = list
        .filter((s) => s.end >= t - gap && s.start <= t + gap)
        .sort((x, y) => x.start - y.start)
      const merged: S = { start: t, end: t, sum: 0 }
      for (const s of found) {
        merged.start = Math.min(merged.start, s.start)
        merged.end = Math.max(merged.end, s.end)
        merged.sum += s.sum
      }
      if (merged.end < streamTime - windows.graceMs - gap) {
        late++
        continue
      }
      const same = merged.start === t && merged.end === t
      let rest = list
      if (!same) {
        for (const s of found) updates.push([k, s.start, s.end, null, s.sum])
        rest = list.filter((s) => !found.includes(s))
      } else rest = list.filter((s) => !(s.start === t && s.end === t))
      merged.sum += v
      rest.push(merged)
      sessions.set(k, rest)
      observedEnd = Math.max(observedEnd, merged.end)
      updates.push([k, merged.start, merged.end, merged.sum, null])
    }
    return { sessions, updates, late, streamTime }
  }

  it('on update: the same changes and late count as the naive reference (property)', () => {
    fc.assert(
      fc.property(arbWindows, arbRecords, (windows, records) => {
        const { h, processor } = setup(windows, 'on-window-update')
        for (const [k, v, t] of records) h.pipe(k, v, t)
        const ref = naive(windows, windows.defaultRetentionMs, records)
        expect(h.drain().map(row)).toEqual(ref.updates)
        expect(processor.lateRecordCount).toBe(ref.late)
      }),
    )
  })

  it('on close: each session at most once, only once closed, and every final session emitted (property)', () => {
    fc.assert(
      fc.property(
        arbWindows,
        arbRecords,
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        (windows, records, every, cached) => {
          const { h } = setup(windows, 'on-window-close', cached ? 1 << 20 : 0)
          const all = [...records, ['z', 1, 100_000] as [string, number, number]]
          let streamTime = Number.NEGATIVE_INFINITY
          const emitted = new Map<string, number>()
          for (const [i, [k, v, t]] of all.entries()) {
            h.pipe(k, v, t)
            streamTime = Math.max(streamTime, t)
            for (const f of h.drain()) {
              const w = f.record.key.window
              const id = `${f.record.key.key}@${w.start}-${w.end}`
              expect(emitted.has(id)).toBe(false)
              expect(w.end).toBeLessThan(streamTime - windows.graceMs - windows.inactivityGapMs)
              emitted.set(id, f.record.value.newValue as number)
            }
            if (i % every === 0) h.commit()
          }
          const ref = naive(windows, windows.defaultRetentionMs + 1, records)
          for (const [k, list] of ref.sessions)
            for (const s of list) expect(emitted.get(`${k}@${s.start}-${s.end}`)).toBe(s.sum)
        },
      ),
    )
  })
})
