import { describe, expect, it } from 'vitest'
import {
  type AlignmentReport,
  decodeReport,
  EventTimeAlignment,
  encodeReport,
} from '../../../topology/runtime/event-time-alignment.js'

const T0 = 1_800_000_000_000

function alignment(overrides: Partial<ConstructorParameters<typeof EventTimeAlignment>[0]> = {}) {
  return new EventTimeAlignment({
    instanceId: 'a',
    maxDriftMs: 5000,
    intervalMs: 200,
    totalPartitions: 8,
    coverageTimeoutMs: 10_000,
    ...overrides,
  })
}

function report(instanceId: string, low: AlignmentReport['low'], extra: Partial<AlignmentReport> = {}) {
  return { instanceId, generation: 3, partitions: 4, low, at: T0, ...extra }
}

describe('EventTimeAlignment', () => {
  it('bounds an instance to the group low plus the drift', () => {
    const a = alignment()
    a.update(3, 4, 100_000, 100_000, T0)
    a.observe(report('b', 40_000))
    expect(a.bound(T0)).toBe(45_000)
    // The slower instance moves on: so does the bound.
    a.observe(report('b', 90_000, { at: T0 + 10 }))
    expect(a.bound(T0 + 10)).toBe(95_000)
  })

  it("the instance's own low bounds it too, and no one bounds a group that is caught up", () => {
    const a = alignment()
    a.update(3, 4, 20_000, 20_000, T0)
    a.observe(report('b', null))
    expect(a.bound(T0)).toBe(25_000)
    a.update(3, 4, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, T0)
    expect(a.bound(T0)).toBe(Number.POSITIVE_INFINITY)
  })

  it('reports what it has not made visible yet, and is bound by what it has yet to process', () => {
    const a = alignment()
    // Processed up to 90 s, but what it processed from 60 s on waits for a commit.
    a.update(3, 8, 90_000, 60_000, T0)
    expect(a.due(T0)?.low).toBe(60_000)
    expect(a.bound(T0)).toBe(95_000)
  })

  it('holds while a member has not read its partitions yet', () => {
    const a = alignment()
    a.update(3, 4, 20_000, 20_000, T0)
    a.observe(report('b', 'unknown'))
    expect(a.bound(T0)).toBe(Number.NEGATIVE_INFINITY)
  })

  it('holds until reports of this generation cover every partition, then goes on without after the timeout', () => {
    const a = alignment()
    a.update(3, 4, 20_000, 20_000, T0)
    // Nothing from the other member yet: it may be far behind.
    expect(a.bound(T0)).toBe(Number.NEGATIVE_INFINITY)
    // A report of the previous generation does not count.
    a.observe(report('b', 50_000, { generation: 2 }))
    expect(a.bound(T0 + 100)).toBe(Number.NEGATIVE_INFINITY)
    expect(a.bound(T0 + 10_000)).toBe(25_000)
    a.observe(report('b', 10_000, { at: T0 + 10_001 }))
    expect(a.bound(T0 + 10_001)).toBe(15_000)
  })

  it("ignores a previous run's report of the same generation number, and its own reports", () => {
    const a = alignment()
    a.update(3, 4, 20_000, 20_000, T0)
    a.observe(report('b', 1_000, { at: T0 - 3_600_000 }))
    a.observe(report('a', 1_000))
    expect(a.bound(T0)).toBe(Number.NEGATIVE_INFINITY)
    a.observe(report('c', 30_000))
    expect(a.bound(T0)).toBe(25_000)
  })

  it('keeps the newest report of each instance, in whatever order they are read', () => {
    const a = alignment()
    a.update(3, 4, 100_000, 100_000, T0)
    a.observe(report('b', 60_000, { at: T0 + 50 }))
    a.observe(report('b', 10_000, { at: T0 + 20 }))
    expect(a.bound(T0 + 50)).toBe(65_000)
  })

  it('a new generation waits for reports made in it', () => {
    const a = alignment()
    a.update(3, 4, 100_000, 100_000, T0)
    a.observe(report('b', 60_000))
    expect(a.bound(T0)).toBe(65_000)
    a.update(4, 8, 100_000, 100_000, T0 + 1000)
    // Alone in generation 4 with every partition: only its own low counts.
    expect(a.bound(T0 + 1000)).toBe(105_000)
  })

  it('reports at once when it changes between unknown, lagging and caught up; a moving low every interval; else every second', () => {
    const a = alignment()
    a.update(3, 4, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, T0)
    expect(a.due(T0)).toEqual({ instanceId: 'a', generation: 3, partitions: 4, low: 'unknown', at: T0 })
    a.update(3, 4, 5_000, 5_000, T0 + 10)
    expect(a.due(T0 + 10)?.low).toBe(5_000)
    a.update(3, 4, 6_000, 6_000, T0 + 20)
    expect(a.due(T0 + 20)).toBeUndefined()
    expect(a.due(T0 + 210)?.low).toBe(6_000)
    // A low that does not move is not reported again before the heartbeat.
    expect(a.due(T0 + 500)).toBeUndefined()
    a.update(3, 4, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, T0 + 520)
    expect(a.due(T0 + 520)?.low).toBeNull()
    expect(a.due(T0 + 1000)).toBeUndefined()
    expect(a.due(T0 + 1520)?.low).toBeNull()
    a.update(4, 4, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, T0 + 1530)
    expect(a.due(T0 + 1530)?.generation).toBe(4)
  })
})

describe('reports on the wire', () => {
  it('round-trip, and anything else is not a report', () => {
    const r: AlignmentReport = report('b', 12_345)
    expect(decodeReport(encodeReport(r))).toEqual(r)
    expect(decodeReport(encodeReport(report('b', null)))).toEqual(report('b', null))
    expect(decodeReport(null)).toBeUndefined()
    expect(decodeReport(Buffer.from('not json'))).toBeUndefined()
    expect(
      decodeReport(Buffer.from('{"instanceId":"b","generation":3,"partitions":4,"at":1}')),
    ).toBeUndefined()
    expect(decodeReport(Buffer.from(JSON.stringify({ ...r, low: 'soon' })))).toBeUndefined()
    expect(decodeReport(Buffer.from(JSON.stringify({ ...r, partitions: -1 })))).toBeUndefined()
  })
})
