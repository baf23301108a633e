// TimeWindows, SlidingWindows and SessionWindows as values: validation and windowsFor(), pinned on the
// edge cases of Kafka Streams' TimeWindows.windowsFor (boundaries, timestamps before the first window).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isTopologyError } from '../../../../topology/errors.js'
import { SessionWindows, SlidingWindows, TimeWindows } from '../../../../topology/windows/index.js'

const starts = (w: TimeWindows, t: number) => w.windowsFor(t).map((x) => [x.start, x.end])

describe('TimeWindows', () => {
  it('tumbling: one window [n*size, (n+1)*size) per timestamp, boundary belongs to the next', () => {
    const w = TimeWindows.ofSizeWithNoGrace(10)
    expect(starts(w, 0)).toEqual([[0, 10]])
    expect(starts(w, 9)).toEqual([[0, 10]])
    expect(starts(w, 10)).toEqual([[10, 20]])
    expect(starts(w, 25)).toEqual([[20, 30]])
    expect(w.graceMs).toBe(0)
    expect(w.advanceMs).toBe(10)
  })

  it('hopping: size/advance windows, none starting before 0', () => {
    const w = TimeWindows.ofSizeAndGrace(10, 5).advanceBy(3)
    expect(starts(w, 0)).toEqual([[0, 10]])
    expect(starts(w, 4)).toEqual([
      [0, 10],
      [3, 13],
    ])
    expect(starts(w, 12)).toEqual([
      [3, 13],
      [6, 16],
      [9, 19],
      [12, 22],
    ])
    // start 3 ends at 13, exclusive: 13 is not in it
    expect(starts(w, 13)).toEqual([
      [6, 16],
      [9, 19],
      [12, 22],
    ])
    expect(w.graceMs).toBe(5)
    expect(w.defaultRetentionMs).toBe(15)
  })

  it('a negative timestamp has no window', () => {
    expect(TimeWindows.ofSizeWithNoGrace(10).windowsFor(-1)).toEqual([])
  })

  it('is immutable: advanceBy returns a new value', () => {
    const a = TimeWindows.ofSizeWithNoGrace(10)
    const b = a.advanceBy(5)
    expect(a.advanceMs).toBe(10)
    expect(b.advanceMs).toBe(5)
  })

  it.each([
    ['size 0', () => TimeWindows.ofSizeWithNoGrace(0), 'size'],
    ['size fractional', () => TimeWindows.ofSizeWithNoGrace(1.5), 'size'],
    ['grace negative', () => TimeWindows.ofSizeAndGrace(10, -1), 'grace'],
    ['advance 0', () => TimeWindows.ofSizeWithNoGrace(10).advanceBy(0), 'advance'],
    ['advance > size', () => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11), 'advance'],
    ['gap 0', () => SessionWindows.ofInactivityGapWithNoGrace(0), 'inactivityGap'],
    ['session grace', () => SessionWindows.ofInactivityGapAndGrace(5, -2), 'grace'],
    ['time difference', () => SlidingWindows.ofTimeDifferenceWithNoGrace(-1), 'timeDifference'],
    ['sliding grace NaN', () => SlidingWindows.ofTimeDifferenceAndGrace(5, Number.NaN), 'grace'],
  ])('rejects %s with INVALID_ARGUMENT naming the option', (_name, make, option) => {
    try {
      make()
      expect.unreachable()
    } catch (error) {
      expect(isTopologyError(error, 'INVALID_ARGUMENT')).toBe(true)
      expect((error as Error).message).toContain(option)
    }
  })

  it('accepts a 0 time difference for sliding windows (Kafka allows it)', () => {
    expect(SlidingWindows.ofTimeDifferenceWithNoGrace(0).timeDifferenceMs).toBe(0)
  })

  it('windowsFor equals the naive definition: every start k*advance >= 0 with start <= t < start + size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: -20, max: 500 }),
        (size, advanceRaw, t) => {
          const advance = Math.min(size, advanceRaw)
          const w = TimeWindows.ofSizeWithNoGrace(size).advanceBy(advance)
          const naive: number[][] = []
          for (let start = 0; start <= Math.max(t, 0); start += advance)
            if (start <= t && t < start + size) naive.push([start, start + size])
          expect(starts(w, t)).toEqual(naive)
        },
      ),
    )
  })
})
