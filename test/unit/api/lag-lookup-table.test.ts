import { describe, expect, it } from 'vitest'
import { LookupTable } from '../../../api/lag/lookup-table.js'

function table(points: [offset: number, timeMs: number][], maxSamples?: number): LookupTable {
  const t = new LookupTable(maxSamples)
  for (const [offset, timeMs] of points) t.add(offset, timeMs)
  return t
}

describe('LookupTable.lagSeconds', () => {
  // End offset 100 at t=10 s, 200 at t=20 s, 400 at t=30 s.
  const steady = () =>
    table([
      [100, 10_000],
      [200, 20_000],
      [400, 30_000],
    ])

  it('is 0 when the group is at or past the newest end offset', () => {
    expect(steady().lagSeconds(400, 50_000)).toBe(0)
    expect(steady().lagSeconds(450, 50_000)).toBe(0)
  })

  it('at a sampled offset, counts from the time of that sample', () => {
    expect(steady().lagSeconds(200, 35_000)).toBe(15)
    expect(steady().lagSeconds(100, 35_000)).toBe(25)
  })

  it('between two samples, interpolates linearly between them', () => {
    // 150 is halfway from (100, 10 s) to (200, 20 s): 15 s; 300 is halfway from (200, 20 s) to (400, 30 s): 25 s.
    expect(steady().lagSeconds(150, 35_000)).toBe(20)
    expect(steady().lagSeconds(300, 35_000)).toBe(10)
    expect(steady().lagSeconds(399, 30_000)).toBeCloseTo(0.05, 10)
  })

  it('below the oldest sample, extrapolates on the line through the oldest and the newest sample', () => {
    // Oldest (100, 10 s), newest (400, 30 s): 300 offsets in 20 s; offset 40 is 60 offsets (4 s) before 10 s.
    expect(steady().lagSeconds(40, 35_000)).toBeCloseTo(29, 10)
    expect(steady().lagSeconds(0, 35_000)).toBeCloseTo(35 - 10 + (100 * 20) / 300, 10)
  })

  it('with one sample: 0 when caught up, else the time since that sample as a lower bound', () => {
    const one = table([[100, 10_000]])
    expect(one.lagSeconds(100, 12_000)).toBe(0)
    expect(one.lagSeconds(40, 10_000)).toBe(0)
    expect(one.lagSeconds(40, 12_500)).toBe(2.5)
  })

  it('with a flat table: 0 when caught up, else the time since the oldest sample as a lower bound', () => {
    const flat = table([
      [100, 10_000],
      [100, 20_000],
      [100, 30_000],
    ])
    expect(flat.lagSeconds(100, 40_000)).toBe(0)
    expect(flat.lagSeconds(60, 40_000)).toBe(30)
  })

  it('is NaN for an empty table and never negative', () => {
    expect(new LookupTable().lagSeconds(0, 1000)).toBeNaN()
    expect(steady().lagSeconds(300, 0)).toBe(0)
  })
})

describe('LookupTable.add', () => {
  it('keeps the first time an end offset was seen and moves only the latest one along a flat run', () => {
    const t = table([
      [50, 0],
      [100, 10_000],
      [100, 20_000],
      [100, 30_000],
      [100, 40_000],
    ])
    expect(t.samples).toEqual([
      { offset: 50, timeMs: 0 },
      { offset: 100, timeMs: 10_000 },
      { offset: 100, timeMs: 40_000 },
    ])
    // Offsets up to 100 were written by 10 s (first seen) ...
    expect(t.lagSeconds(75, 40_000)).toBe(35)
    // ... and a group at 100 was caught up until 40 s, the last time the end was still there.
    t.add(200, 50_000)
    expect(t.lagSeconds(100, 50_000)).toBe(10)
  })

  it('keeps at most maxSamples points, dropping the oldest', () => {
    const t = table(
      Array.from({ length: 10 }, (_, i): [number, number] => [i * 10, i * 1000]),
      4,
    )
    expect(t.samples.map((s) => s.offset)).toEqual([60, 70, 80, 90])
    // Offset 30 fell out of the table: extrapolated at 10 offsets per second from (60, 6 s).
    expect(t.lagSeconds(30, 9000)).toBeCloseTo(6, 10)
  })

  it('ignores a sample no later than the newest', () => {
    const t = table([
      [100, 10_000],
      [200, 20_000],
      [300, 20_000],
      [250, 15_000],
    ])
    expect(t.samples).toEqual([
      { offset: 100, timeMs: 10_000 },
      { offset: 200, timeMs: 20_000 },
    ])
  })

  it('starts over when the end offset goes down (log truncated or topic recreated)', () => {
    const t = table([
      [100, 10_000],
      [200, 20_000],
      [5, 30_000],
    ])
    expect(t.samples).toEqual([{ offset: 5, timeMs: 30_000 }])
  })

  it('refuses a bound below two samples', () => {
    expect(() => new LookupTable(1)).toThrow(/maxSamples must be an integer of at least 2/)
    expect(() => new LookupTable(2.5)).toThrow(RangeError)
  })
})
