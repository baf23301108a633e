// The tumbling/hopping window aggregate against a naive reference: which windows each record updates,
// which records are late (with the reason, on the late output, counted), emit-final emitting each window
// exactly once after it closes, and the changelog after a commit.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Change, Serdes } from '../../../../topology/index.js'
import { isEmitCloseMarkerKey } from '../../../../topology/internals/state/emit-close-marker.js'
import { buildWindowStore } from '../../../../topology/internals/state/window-build-store.js'
import { TimeWindows, type Windowed } from '../../../../topology/windows/index.js'
import type { EmitStrategy } from '../../../../topology/windows/internals/emit-strategy.js'
import type { LateRecord } from '../../../../topology/windows/internals/late-records.js'
import { TimeWindowAggregateProcessor } from '../../../../topology/windows/internals/time-window-aggregate-processor.js'
import {
  type ValueAndTimestamp,
  valueAndTimestampSerde,
} from '../../../../topology/windows/internals/value-and-timestamp.js'
import { Harness } from './harness.js'

type Out = Change<number>

function setup(
  windows: TimeWindows,
  emit: EmitStrategy,
  cache = 0,
  retentionMs = windows.defaultRetentionMs,
) {
  const h = new Harness<string, number, Windowed<string>, Out>(cache)
  const built = buildWindowStore<string, ValueAndTimestamp<number>>(
    {
      kind: 'window',
      name: 'agg',
      keySerde: Serdes.String() as never,
      valueSerde: valueAndTimestampSerde(Serdes.Long()) as never,
      cachingEnabled: cache > 0,
      loggingEnabled: true,
      windowSizeMs: windows.sizeMs,
      retentionMs,
    },
    h.env,
  )
  h.addStore(built.store)
  const processor = new TimeWindowAggregateProcessor<string, number, number>({
    storeName: 'agg',
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
  f.record.value.newValue,
  f.record.value.oldValue,
]

describe('TimeWindowAggregateProcessor', () => {
  it('emits on update: Change(new, old) per window, the record timestamp, late records with their reason', () => {
    const { h, processor } = setup(TimeWindows.ofSizeAndGrace(10, 5).advanceBy(5), 'on-window-update')
    h.pipe('a', 1, 7).pipe('a', 2, 12).pipe('a', 4, 21)
    expect(h.drain().map(row)).toEqual([
      ['a', 0, 1, null],
      ['a', 5, 1, null],
      ['a', 5, 3, 1],
      ['a', 10, 2, null],
      ['a', 15, 4, null],
      ['a', 20, 4, null],
    ])
    // stream time 21, closeTime 16: window [5,15) is closed, [10,20) open: a record at 12 updates only [10,20)
    h.pipe('a', 8, 12)
    expect(h.drain().map(row)).toEqual([['a', 10, 10, 2]])
    // a record at 9 (windows [0,10), [5,15)) changes nothing: late
    h.pipe('a', 16, 9)
    expect(h.drain()).toEqual([])
    const late = h.drain('late') as unknown as { record: { key: string; value: LateRecord<number> } }[]
    expect(late.map((f) => [f.record.key, f.record.value.value, f.record.value.reason])).toEqual([
      [
        'a',
        16,
        {
          rule: 'time-window-closed',
          timestamp: 9,
          streamTime: 21,
          closeTime: 16,
          window: expect.objectContaining({ start: 5, end: 15 }),
        },
      ],
    ])
    expect(processor.lateRecordCount).toBe(1)
  })

  it('forwards the largest record timestamp of the window (Kafka ValueAndTimestamp)', () => {
    const { h } = setup(TimeWindows.ofSizeAndGrace(10, 10), 'on-window-update')
    h.pipe('a', 1, 8).pipe('a', 1, 3)
    expect(h.drain().map((f) => f.record.timestamp)).toEqual([8, 8])
  })

  it('with a cache, forwards one Change per window per commit and logs one changelog record', () => {
    const { h, built } = setup(TimeWindows.ofSizeWithNoGrace(10), 'on-window-update', 1 << 20)
    h.pipe('a', 1, 1).pipe('a', 2, 2).pipe('b', 5, 3)
    expect(h.drain()).toEqual([])
    h.commit()
    expect(h.drain().map(row)).toEqual([
      ['a', 0, 3, null],
      ['b', 0, 5, null],
    ])
    // Besides the processor's marker (stream time, see emit-close-marker.ts): one record per window.
    expect(h.collector.drain().filter((r) => !isEmitCloseMarkerKey(r.key as Buffer)).length).toBe(2)
    h.pipe('a', 1, 4).commit()
    expect(h.drain().map(row)).toEqual([['a', 0, 4, 3]])
    expect(built.hasDirtyEntries()).toBe(false)
  })

  it('emits final once per window, after end + grace <= stream time, stamped with its last record', () => {
    const { h } = setup(TimeWindows.ofSizeAndGrace(10, 5), 'on-window-close')
    h.pipe('a', 1, 2).pipe('b', 2, 9).pipe('a', 3, 12)
    expect(h.drain()).toEqual([])
    h.pipe('a', 1, 14) // stream time 14, closeTime 9: [0,10) still open
    h.pipe('a', 4, 8) // late? no: [0,10) open until stream time 15
    expect(h.drain()).toEqual([])
    h.pipe('c', 1, 15)
    expect(h.drain().map((f) => [...row(f), f.record.timestamp])).toEqual([
      ['a', 0, 5, null, 8],
      ['b', 0, 2, null, 9],
    ])
    h.pipe('c', 1, 40)
    expect(h.drain().map(row)).toEqual([
      ['a', 10, 4, null],
      ['c', 10, 1, null],
    ])
  })

  // As Kafka Streams, which iterates its time-ordered store ([start][serialized key][seqnum]).
  it('emits the windows one record closes by start, then serialized key', () => {
    const { h } = setup(TimeWindows.ofSizeAndGrace(10, 0).advanceBy(5), 'on-window-close')
    h.pipe('b', 1, 1).pipe('a', 1, 6).pipe('c', 1, 2).pipe('ab', 1, 7)
    expect(h.drain()).toEqual([])
    h.pipe('z', 1, 30)
    expect(h.drain().map((f) => [f.record.key.key, f.record.key.window.start])).toEqual([
      ['a', 0],
      ['ab', 0],
      ['b', 0],
      ['c', 0],
      ['a', 5],
      ['ab', 5],
    ])
  })

  const arbRecords = fc.array(
    fc.tuple(
      fc.constantFrom('a', 'b', 'c'),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 0, max: 120 }),
    ),
    { maxLength: 80 },
  )
  const arbWindows = fc
    .tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 30 }))
    .map(([size, adv, grace]) => TimeWindows.ofSizeAndGrace(size, grace).advanceBy(Math.min(size, adv)))

  // The naive reading: a record is added to each window [s, s + size) holding it, s a multiple of advance,
  // if s + size + grace > stream time; otherwise late.
  function naive(windows: TimeWindows, records: [string, number, number][]) {
    let streamTime = Number.NEGATIVE_INFINITY
    const aggs = new Map<string, number>()
    const updates: unknown[] = []
    let late = 0
    for (const [k, v, t] of records) {
      streamTime = Math.max(streamTime, t)
      let changed = false
      for (let s = 0; s <= t; s += windows.advanceMs) {
        if (t >= s + windows.sizeMs || s + windows.sizeMs + windows.graceMs <= streamTime) continue
        const id = `${k}@${s}`
        const old = aggs.get(id)
        aggs.set(id, (old ?? 0) + v)
        updates.push([k, s, (old ?? 0) + v, old ?? null])
        changed = true
      }
      if (!changed) late++
    }
    return { aggs, updates, late }
  }

  it('on update: the same updates and late count as the naive reference (property)', () => {
    fc.assert(
      fc.property(arbWindows, arbRecords, (windows, records) => {
        const { h, processor } = setup(windows, 'on-window-update')
        for (const [k, v, t] of records) h.pipe(k, v, t)
        const ref = naive(windows, records)
        expect(h.drain().map(row)).toEqual(ref.updates)
        expect(processor.lateRecordCount).toBe(ref.late)
        expect(h.drain('late').length).toBe(ref.late)
      }),
    )
  })

  it('on close: every window exactly once, closed when emitted, with its final aggregate (property)', () => {
    fc.assert(
      fc.property(
        arbWindows,
        arbRecords,
        fc.boolean(),
        fc.integer({ min: 1, max: 7 }),
        (windows, records, cached, every) => {
          const { h } = setup(windows, 'on-window-close', cached ? 1 << 20 : 0)
          let streamTime = Number.NEGATIVE_INFINITY
          const emitted = new Map<string, number>()
          const all = [...records, ['z', 1, 10_000] as [string, number, number]]
          for (const [i, [k, v, t]] of all.entries()) {
            h.pipe(k, v, t)
            streamTime = Math.max(streamTime, t)
            for (const f of h.drain()) {
              const w = f.record.key.window
              const id = `${f.record.key.key}@${w.start}`
              expect(emitted.has(id)).toBe(false)
              expect(w.end + windows.graceMs).toBeLessThanOrEqual(streamTime)
              emitted.set(id, f.record.value.newValue as number)
            }
            if (i % every === 0) h.commit()
          }
          const ref = naive(windows, records)
          expect(emitted).toEqual(ref.aggs)
        },
      ),
    )
  })

  it('restores its store from the changelog after a commit: the same aggregates continue', () => {
    const windows = TimeWindows.ofSizeAndGrace(10, 100)
    const first = setup(windows, 'on-window-update', 1 << 20)
    first.h.pipe('a', 1, 1).pipe('a', 2, 15).commit()
    const log = first.h.collector.drain()
    const second = setup(windows, 'on-window-update')
    second.built.restore(log)
    second.h.pipe('a', 5, 3)
    expect(second.h.drain().map(row)).toEqual([['a', 0, 6, 1]])
  })
})
