// The lateness rules per kind of window, pinned on their boundaries and checked against naive readings of
// the rule ("closed once end + grace <= stream time", "late when it changes no window").
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decideTimeWindows,
  isSessionClosed,
  isSlidingWindowClosed,
  isTimeWindowClosed,
  SessionWindows,
  SlidingWindows,
  sessionLateness,
  slidingLateness,
  TimeWindows,
  Window,
} from '../../../../topology/windows/index.js'

describe('time windows', () => {
  const w = TimeWindows.ofSizeAndGrace(10, 5)

  it('a window [0,10) with grace 5 is open at stream time 14 and closed at 15', () => {
    expect(isTimeWindowClosed(w, new Window(0, 10), 14)).toBe(false)
    expect(isTimeWindowClosed(w, new Window(0, 10), 15)).toBe(true)
    expect(decideTimeWindows(w, 3, 14).late).toBeUndefined()
    expect(decideTimeWindows(w, 3, 15).late).toMatchObject({
      rule: 'time-window-closed',
      timestamp: 3,
      streamTime: 15,
      closeTime: 10,
      window: { start: 0, end: 10 },
    })
  })

  it('a hopping record updates only its open windows', () => {
    const h = TimeWindows.ofSizeWithNoGrace(10).advanceBy(5)
    const d = decideTimeWindows(h, 12, 15)
    expect(d.open.map((x) => x.start)).toEqual([10])
    expect(d.late).toBeUndefined()
  })

  it('a negative timestamp is late with rule no-window', () => {
    expect(decideTimeWindows(w, -5, 0).late?.rule).toBe('no-window')
  })

  it('matches the naive rule on random definitions and times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 100 }),
        (size, adv, grace, t, ahead) => {
          const defn = TimeWindows.ofSizeAndGrace(size, grace).advanceBy(Math.min(adv, size))
          const streamTime = t + ahead
          const naiveOpen: number[] = []
          for (let s = 0; s <= t; s += defn.advanceMs)
            if (t < s + size && s + size + grace > streamTime) naiveOpen.push(s)
          const d = decideTimeWindows(defn, t, streamTime)
          expect(d.open.map((x) => x.start)).toEqual(naiveOpen)
          expect(d.late === undefined).toBe(naiveOpen.length > 0)
        },
      ),
    )
  })
})

describe('session windows', () => {
  const s = SessionWindows.ofInactivityGapAndGrace(10, 5)

  it('closeTime = stream time - grace - gap; a session ending before it is closed', () => {
    // stream time 30: closeTime 15
    expect(isSessionClosed(s, new Window(0, 15), 30)).toBe(false)
    expect(isSessionClosed(s, new Window(0, 14), 30)).toBe(true)
    expect(sessionLateness(s, 14, new Window(14, 14), 30)).toMatchObject({
      rule: 'session-closed',
      closeTime: 15,
    })
    expect(sessionLateness(s, 15, new Window(15, 15), 30)).toBeUndefined()
    // a late record that merges into a session still open is not late
    expect(sessionLateness(s, 2, new Window(2, 20), 30)).toBeUndefined()
  })
})

describe('sliding windows', () => {
  const s = SlidingWindows.ofTimeDifferenceAndGrace(10, 5)

  it('closeTime = stream time - grace; late when timestamp + difference < closeTime', () => {
    expect(isSlidingWindowClosed(s, new Window(0, 10), 15)).toBe(false)
    expect(isSlidingWindowClosed(s, new Window(0, 10), 16)).toBe(true)
    expect(slidingLateness(s, 0, 15)).toBeUndefined()
    expect(slidingLateness(s, 0, 16)).toMatchObject({ rule: 'sliding-window-closed', closeTime: 11 })
  })

  it('a record is late iff every sliding window that could hold it is closed (naive check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 100 }),
        (diff, grace, t, ahead) => {
          const defn = SlidingWindows.ofTimeDifferenceAndGrace(diff, grace)
          const streamTime = t + ahead
          // windows [start, start + diff] holding t: start in [t - diff, t]
          let anyOpen = false
          for (let start = t - diff; start <= t; start++)
            if (!isSlidingWindowClosed(defn, new Window(start, start + diff), streamTime)) anyOpen = true
          expect(slidingLateness(defn, t, streamTime) === undefined).toBe(anyOpen)
        },
      ),
    )
  })
})
