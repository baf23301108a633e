// The sliding window aggregate against Kafka Streams' KStreamSlidingWindowAggregate: cases worked by hand
// from its source (left, right and previous-record right windows, early records in [0, timeDifference]),
// Kafka's late rule and records whose windows are all closed (late output with the reason, counted),
// emit-final exactly once, and properties against a naive reference that sums each window's records.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Change, Serdes } from '../../../../topology/index.js'
import { buildWindowStore } from '../../../../topology/internals/state/window-build-store.js'
import { SlidingWindows, type Windowed } from '../../../../topology/windows/index.js'
import type { EmitStrategy } from '../../../../topology/windows/internals/emit-strategy.js'
import type { LateRecord } from '../../../../topology/windows/internals/late-records.js'
import {
  SlidingWindowAggregateProcessor,
  slidingMinRetentionMs,
} from '../../../../topology/windows/internals/sliding-window-aggregate-processor.js'
import {
  type ValueAndTimestamp,
  valueAndTimestampSerde,
} from '../../../../topology/windows/internals/value-and-timestamp.js'
import { Harness } from './harness.js'

type Out = Change<number>

function setup(
  windows: SlidingWindows,
  emit: EmitStrategy,
  cache = 0,
  retentionMs = slidingMinRetentionMs(windows),
) {
  const h = new Harness<string, number, Windowed<string>, Out>(cache)
  const built = buildWindowStore<string, ValueAndTimestamp<number>>(
    {
      name: 'sliding',
      keySerde: Serdes.String() as never,
      valueSerde: valueAndTimestampSerde(Serdes.Long()) as never,
      cachingEnabled: cache > 0,
      loggingEnabled: true,
      windowSizeMs: windows.timeDifferenceMs,
      retentionMs,
    },
    h.env,
  )
  h.addStore(built.store)
  const processor = new SlidingWindowAggregateProcessor<string, number, number>({
    storeName: 'sliding',
    windows,
    initializer: () => 0,
    aggregator: (_k, v, a) => a + v,
    emit,
    lateChildName: 'late',
  })
  h.init(processor)
  return { h, processor, built }
}

const row = (f: { record: { key: Windowed<string>; value: Out; timestamp: number } }) => [
  f.record.key.key,
  f.record.key.window.start,
  f.record.key.window.end,
  f.record.value.newValue,
  f.record.value.oldValue,
  f.record.timestamp,
]

const lateRows = (h: Harness<string, number, Windowed<string>, Out>) =>
  (h.drain('late') as unknown as { record: { value: LateRecord<number> } }[]).map((f) => {
    const r = f.record.value.reason
    return [f.record.value.value, r.rule, r.timestamp, r.closeTime, r.window?.start, r.window?.end]
  })

describe('SlidingWindowAggregateProcessor', () => {
  it('creates left, right and previous-record right windows as Kafka does', () => {
    const { h } = setup(SlidingWindows.ofTimeDifferenceAndGrace(10, 1000), 'on-window-update')
    h.pipe('a', 1, 10)
    expect(h.drain().map(row)).toEqual([['a', 0, 10, 1, null, 10]])
    // 15: the previous record (10) gets its right window [11,21]; 15's left window is seeded with [0,10]
    h.pipe('a', 2, 15)
    expect(h.drain().map(row)).toEqual([
      ['a', 11, 21, 2, null, 15],
      ['a', 5, 15, 3, null, 15],
    ])
    // 12, out of order: updates [11,21] and [5,15], creates its left window [2,12] seeded with [0,10],
    // and its right window [13,23] with [11,21]'s aggregate before the update (15 only)
    h.pipe('a', 4, 12)
    expect(h.drain().map(row)).toEqual([
      ['a', 11, 21, 6, 2, 15],
      ['a', 5, 15, 7, 3, 15],
      ['a', 2, 12, 5, null, 12],
      ['a', 13, 23, 2, null, 15],
    ])
    // a duplicate timestamp only updates the windows holding it
    h.pipe('a', 8, 15)
    expect(h.drain().map(row)).toEqual([
      ['a', 13, 23, 10, 2, 15],
      ['a', 11, 21, 14, 6, 15],
      ['a', 5, 15, 15, 7, 15],
    ])
  })

  it('puts records earlier than the time difference in [0, timeDifference] and creates their right windows', () => {
    const { h } = setup(SlidingWindows.ofTimeDifferenceAndGrace(10, 1000), 'on-window-update')
    h.pipe('a', 1, 3).pipe('a', 2, 1)
    expect(h.drain().map(row)).toEqual([
      ['a', 0, 10, 1, null, 3],
      ['a', 2, 12, 1, null, 3],
      ['a', 0, 10, 3, 1, 3],
    ])
    // 5: the previous record (3) gets its right window [4,14]
    h.pipe('a', 4, 5)
    expect(h.drain().map(row)).toEqual([
      ['a', 2, 12, 5, 1, 5],
      ['a', 4, 14, 4, null, 5],
      ['a', 0, 10, 7, 3, 5],
    ])
    // 20: [10,20] is not seeded (5 is outside it); 5's right window [6,16] would not hold 20
    h.pipe('a', 8, 20)
    expect(h.drain().map(row)).toEqual([['a', 10, 20, 8, null, 20]])
  })

  it('drops a record with t + timeDifference < stream time - grace, and one whose windows are all closed', () => {
    const { h, processor } = setup(SlidingWindows.ofTimeDifferenceWithNoGrace(10), 'on-window-update')
    h.pipe('a', 1, 100)
    h.drain()
    h.pipe('a', 2, 85) // 95 < 100: late by Kafka's rule, touches nothing
    expect(h.drain()).toEqual([])
    // 95: [90,100] is open (end 100 >= closeTime 100); its left window [85,95] is closed and skipped;
    // its right window [96,106] is created from [90,100]'s aggregate
    h.pipe('a', 4, 95)
    expect(h.drain().map(row)).toEqual([
      ['a', 90, 100, 5, 1, 100],
      ['a', 96, 106, 1, null, 100],
    ])
    // b has no window: 91's left window [81,91] is closed, so it folds into nothing
    h.pipe('b', 8, 91)
    expect(h.drain()).toEqual([])
    expect(lateRows(h)).toEqual([
      [2, 'sliding-window-closed', 85, 100, 85, 95],
      [8, 'sliding-window-closed', 91, 100, 81, 91],
    ])
    expect(processor.lateRecordCount).toBe(2)
  })

  it('near the grace edge, does what Kafka does: no right window without a window holding the record', () => {
    // td 4, grace 3. 69, then 65 (its left window [61,65] is closed; it goes to [65,69] and gets its
    // right window [66,70]). 62 holds no open window and no window holds it, so Kafka does not create its
    // right window [63,67] either; 63, whose windows would be that one and the closed [59,63], is late.
    const { h, processor } = setup(SlidingWindows.ofTimeDifferenceAndGrace(4, 3), 'on-window-update')
    for (const t of [69, 65, 62, 63]) h.pipe('a', 1, t)
    expect(h.drain().map(row)).toEqual([
      ['a', 65, 69, 1, null, 69],
      ['a', 65, 69, 2, 1, 69],
      ['a', 66, 70, 1, null, 69],
    ])
    expect(lateRows(h).map((r) => r[2])).toEqual([62, 63])
    expect(processor.lateRecordCount).toBe(2)
  })

  it('near the grace edge, seeds a right window as Kafka does, from the newest window holding the record', () => {
    // td 2, grace 0; 42 of another key sets stream time. 41's left window [39,41] is closed, so when 42
    // comes its previous record looks like 40 and 41's right window [42,44] is not created. The second 41
    // creates it from [41,43] as that window was (41 and 42): 2, where only 42 falls in it.
    const { h } = setup(SlidingWindows.ofTimeDifferenceWithNoGrace(2), 'on-window-update')
    h.pipe('b', 1, 40).pipe('a', 1, 42).pipe('b', 1, 41).pipe('b', 1, 42).pipe('b', 1, 41)
    const last = new Map(h.drain().map((f) => [`${f.record.key.key}@${f.record.key.window.start}`, row(f)]))
    expect(last.get('b@42')).toEqual(['b', 42, 44, 2, null, 42])
    expect(last.get('b@41')).toEqual(['b', 41, 43, 3, 2, 42])
  })

  it('emits final once per window, when end < stream time - grace, stamped with its latest record', () => {
    const { h } = setup(SlidingWindows.ofTimeDifferenceWithNoGrace(10), 'on-window-close')
    h.pipe('a', 1, 10)
    expect(h.drain()).toEqual([])
    h.pipe('a', 2, 15) // closeTime 15: [0,10] is closed
    expect(h.drain().map(row)).toEqual([['a', 0, 10, 1, null, 10]])
    h.pipe('a', 1, 30)
    expect(h.drain().map(row)).toEqual([
      ['a', 5, 15, 3, null, 15],
      ['a', 11, 21, 2, null, 15],
    ])
    h.pipe('a', 1, 30)
    expect(h.drain()).toEqual([])
    h.pipe('b', 1, 31)
    expect(h.drain().map(row)).toEqual([['a', 20, 30, 2, null, 30]])
  })

  it('refuses a store kept for less than 2 * timeDifference + grace, or of another size', () => {
    expect(() => setup(SlidingWindows.ofTimeDifferenceAndGrace(10, 5), 'on-window-update', 0, 24)).toThrow(
      /at least 2 \* timeDifference \+ grace \(25 ms\)/,
    )
  })

  // --- properties -------------------------------------------------------------------------------

  type Rec = [key: string, value: number, timestamp: number]

  const arbRecords = fc.array(
    fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 80 })),
    { maxLength: 60 },
  )

  // The windows Kafka keeps for one key's records, each with the sum of the records it holds: the left
  // window [t - td, t] of each record (for t < td the shared [0, td]), and the right window
  // [t + 1, t + 1 + td] of each record that has a later record within it.
  function naiveWindows(td: number, records: readonly Rec[]): Map<string, number> {
    const byKey = new Map<string, Rec[]>()
    for (const r of records) byKey.set(r[0], [...(byKey.get(r[0]) ?? []), r])
    const out = new Map<string, number>()
    for (const [key, rs] of byKey) {
      const starts = new Set<number>()
      for (const [, , t] of rs) {
        starts.add(Math.max(0, t - td))
        if (rs.some(([, , u]) => u > t && u <= t + 1 + td)) starts.add(t + 1)
      }
      for (const s of starts) {
        let sum = 0
        for (const [, v, t] of rs) if (t >= s && t <= s + td) sum += v
        out.set(`${key}@${s}`, sum)
      }
    }
    return out
  }

  const lastPerWindow = (h: Harness<string, number, Windowed<string>, Out>) => {
    const last = new Map<string, number>()
    for (const f of h.drain()) {
      last.set(`${f.record.key.key}@${f.record.key.window.start}`, f.record.value.newValue as number)
    }
    return last
  }

  it('without late records, every window Kafka keeps holds the sum of its records (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), arbRecords, fc.boolean(), (td, records, cached) => {
        const { h } = setup(
          SlidingWindows.ofTimeDifferenceAndGrace(td, 1000),
          'on-window-update',
          cached ? 1 << 20 : 0,
        )
        for (const [k, v, t] of records) h.pipe(k, v, t)
        h.commit()
        expect(lastPerWindow(h)).toEqual(naiveWindows(td, records))
        expect(h.drain('late')).toEqual([])
      }),
    )
  })

  // With a grace period: a record is late by Kafka's rule or when every window holding it has closed;
  // the others are exactly the records of the naive reference over the records that were not late, and
  // each window is the sum of those of them that arrived while it was open.
  function naiveWithGrace(td: number, grace: number, records: readonly Rec[]) {
    let streamTime = Number.NEGATIVE_INFINITY
    const kept: Array<Rec & { closeTime: number }> = []
    const seen = new Map<string, boolean>()
    // Keys with a record kept while its own left window was closed (Kafka's seeding is off for them).
    const edgeKeys = new Set<string>()
    const late = new Map<string, number>()
    const countLate = (key: string) => late.set(key, (late.get(key) ?? 0) + 1)
    for (const r of records) {
      streamTime = Math.max(streamTime, r[2])
      const closeTime = streamTime - grace
      const t = r[2]
      if (t + td < closeTime) {
        countLate(r[0])
        continue
      }
      // A window appearing now exists only if it is open now (Kafka never creates a closed window).
      const appeared: string[] = []
      for (const id of naiveWindows(td, [...kept, r]).keys()) {
        if (seen.has(id)) continue
        seen.set(id, Number(id.split('@')[1]) + td >= closeTime)
        appeared.push(id)
      }
      const open = [...seen].some(([id, exists]) => {
        const [k, s] = id.split('@') as [string, string]
        const start = Number(s)
        return exists && k === r[0] && t >= start && t <= start + td && start + td >= closeTime
      })
      if (!open) {
        // It leaves no trace but its right window, which Kafka creates only from a window holding t and
        // later records. No window that appeared with it exists, open or not: its right window may be
        // open while no window holds t (e.g. td 4, grace 3: 69, 65, 62 gives no [63,67], so 63 is late).
        for (const id of appeared) seen.delete(id)
        const right = `${r[0]}@${t + 1}`
        const holder = [...seen].some(([id, exists]) => {
          const [k, st] = id.split('@') as [string, string]
          const start = Number(st)
          return (
            exists &&
            k === r[0] &&
            start <= t &&
            t <= start + td &&
            kept.some((u) => u[0] === k && u[2] > t && u[2] <= start + td)
          )
        })
        if (holder) seen.set(right, true)
        countLate(r[0])
        continue
      }
      if (Math.max(t, td) < closeTime) edgeKeys.add(r[0])
      kept.push(Object.assign([...r] as Rec, { closeTime }))
    }
    const aggs = new Map<string, number>()
    for (const [id, exists] of seen) {
      if (!exists) continue
      const [k, s] = id.split('@') as [string, string]
      const start = Number(s)
      let sum = 0
      for (const r of kept)
        if (r[0] === k && r[2] >= start && r[2] <= start + td && start + td >= r.closeTime) sum += r[1]
      aggs.set(id, sum)
    }
    return { aggs, late, edgeKeys }
  }

  const arbGrace = fc.tuple(fc.integer({ min: 1, max: 15 }), fc.integer({ min: 0, max: 30 }))

  it('with a grace period: the late records of the naive reference, windows within it (property)', () => {
    fc.assert(
      fc.property(arbGrace, arbRecords, ([td, grace], records) => {
        const windows = SlidingWindows.ofTimeDifferenceAndGrace(td, grace)
        const { h, processor } = setup(windows, 'on-window-update', 0, 3 * td + grace)
        for (const [k, v, t] of records) h.pipe(k, v, t)
        const ref = naiveWithGrace(td, grace, records)
        const got = lastPerWindow(h)
        for (const [id, sum] of got) if (sum === 0) got.delete(id)
        for (const [id, sum] of ref.aggs) if (sum === 0) ref.aggs.delete(id)
        // Kafka seeds the windows it creates from its neighbours, assuming every kept record has its left
        // window. A record kept while its left window was already closed breaks that for its key: later
        // windows of the key can miss or hold records the naive reading counts otherwise, and a later
        // record can be dropped that the naive reading would fold into a window (or the reverse). E.g.
        // td 5, grace 1: 51, 46, 50 gives [45,50] = 1, naively 2; td 2, grace 0, then 40, 42 (other key),
        // 41, 42, 41 gives [42,44] = 2, naively 1 (it was seeded by [41,43]). Such keys are only checked
        // for the windows they have; every other key must match exactly.
        const lateKeys = new Map<string, number>()
        for (const f of h.drain('late')) {
          const k = f.record.key as unknown as string
          lateKeys.set(k, (lateKeys.get(k) ?? 0) + 1)
        }
        const exact = (k: string) => !ref.edgeKeys.has(k)
        for (const [id, sum] of got) {
          expect(ref.aggs.has(id)).toBe(true)
          if (exact(id.split('@')[0] as string)) expect(sum).toBe(ref.aggs.get(id))
        }
        for (const [id, sum] of ref.aggs) if (exact(id.split('@')[0] as string)) expect(got.get(id)).toBe(sum)
        for (const k of ['a', 'b']) if (exact(k)) expect(lateKeys.get(k) ?? 0).toBe(ref.late.get(k) ?? 0)
        expect(processor.lateRecordCount).toBe([...lateKeys.values()].reduce((a, b) => a + b, 0))
      }),
    )
  })

  it('on close: every window exactly once, closed when emitted, with its last update (property)', () => {
    fc.assert(
      fc.property(arbGrace, arbRecords, fc.integer({ min: 1, max: 7 }), ([td, grace], records, every) => {
        const windows = SlidingWindows.ofTimeDifferenceAndGrace(td, grace)
        const updates = setup(windows, 'on-window-update')
        for (const [k, v, t] of records) updates.h.pipe(k, v, t)
        const expected = lastPerWindow(updates.h)
        const { h, processor } = setup(windows, 'on-window-close')
        let streamTime = Number.NEGATIVE_INFINITY
        const emitted = new Map<string, number>()
        const all: Rec[] = [...records, ['z', 1, 10_000]]
        for (const [i, [k, v, t]] of all.entries()) {
          h.pipe(k, v, t)
          streamTime = Math.max(streamTime, t)
          for (const f of h.drain()) {
            const w = f.record.key.window
            const id = `${f.record.key.key}@${w.start}`
            expect(emitted.has(id)).toBe(false)
            expect(w.end).toBeLessThan(streamTime - grace)
            emitted.set(id, f.record.value.newValue as number)
          }
          if (i % every === 0) h.commit()
        }
        expect(emitted).toEqual(expected)
        expect(processor.lateRecordCount).toBe(updates.processor.lateRecordCount)
      }),
    )
  })

  it('restores its store from the changelog: the same aggregates continue', () => {
    const windows = SlidingWindows.ofTimeDifferenceAndGrace(10, 100)
    const first = setup(windows, 'on-window-update', 1 << 20)
    first.h.pipe('a', 1, 10).pipe('a', 2, 15).commit()
    const log = first.h.collector.drain()
    const second = setup(windows, 'on-window-update')
    second.built.restore(log)
    second.h.pipe('a', 4, 12)
    expect(second.h.drain().map(row)).toEqual([
      ['a', 11, 21, 6, 2, 15],
      ['a', 5, 15, 7, 3, 15],
      ['a', 2, 12, 5, null, 12],
      ['a', 13, 23, 2, null, 15],
    ])
  })
})
