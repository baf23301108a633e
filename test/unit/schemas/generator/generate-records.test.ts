import { describe, expect, it } from 'vitest'
import { type GeneratedRecord, generateRecords, payloadName } from '../../../../schemas/index.js'
import { streamViolations } from './stream-invariants.js'

const BASE = Date.UTC(2026, 0, 1)
const take = (options: Parameters<typeof generateRecords>[0]) => [...generateRecords(options)]

describe('generateRecords', () => {
  it('writes exactly count records, starting at baseTime, rate events per second of event time', () => {
    const records = take({ seed: 1, count: 5000, baseTime: BASE, rate: 500 })
    expect(records).toHaveLength(5000)
    expect(records[0]?.event.occurred_at).toBe(BASE)
    expect(records.at(-1)?.event.occurred_at).toBe(BASE + 4999 * 2)
  })

  it('durationMs bounds the count by rate', () => {
    expect(take({ seed: 1, durationMs: 2000, rate: 250, baseTime: BASE })).toHaveLength(500)
    expect(take({ seed: 1, durationMs: 60_000, count: 10, baseTime: BASE })).toHaveLength(10)
  })

  it('simulates every event type of the platform', () => {
    const names = new Set(
      take({ seed: 7, count: 20_000, baseTime: BASE }).map((r) => payloadName(r.event.payload)),
    )
    expect([...names].sort()).toEqual(
      [
        'AgentCreated',
        'AgentStatusChanged',
        'AgentTerminated',
        'CapabilityAdded',
        'CapabilityRemoved',
        'ComponentHealth',
        'ComponentMetric',
        'MemberJoined',
        'MemberLeft',
        'TaskAssigned',
        'TaskCancelled',
        'TaskCompleted',
        'TaskCreated',
        'TaskFailed',
        'TaskStarted',
        'TeamDisbanded',
        'TeamFormationFailed',
        'TeamFormationRequested',
        'TeamFormed',
      ].sort(),
    )
  })

  it.each([1, 2, 'fixture-a'])('keeps the stream invariants in order (seed %s)', (seed) => {
    const records = take({ seed, count: 30_000, baseTime: BASE })
    expect(streamViolations(records)).toEqual([])
    expect(records.every((r) => r.delay === 'none' && !r.duplicate)).toBe(true)
  })

  it('keeps them with out-of-order, late and duplicated events too', () => {
    const records = take({
      seed: 3,
      count: 30_000,
      baseTime: BASE,
      outOfOrderShare: 0.05,
      lateShare: 0.02,
      lateByMs: 10_000,
      duplicateShare: 0.03,
    })
    expect(streamViolations(records)).toEqual([])
  })
})

describe('disorder', () => {
  const records = take({
    seed: 11,
    count: 50_000,
    baseTime: BASE,
    outOfOrderShare: 0.04,
    maxOutOfOrderMs: 2000,
    lateShare: 0.01,
    lateByMs: 20_000,
    duplicateShare: 0.02,
  })
  const share = (predicate: (r: GeneratedRecord) => boolean) =>
    records.filter(predicate).length / records.length

  it('reaches the requested shares', () => {
    expect(share((r) => r.delay === 'out-of-order' && !r.duplicate)).toBeCloseTo(0.04, 2)
    expect(share((r) => r.delay === 'late' && !r.duplicate)).toBeCloseTo(0.01, 2)
    expect(share((r) => r.duplicate)).toBeCloseTo(0.02, 2)
  })

  it('emits a late event at least lateByMs of event time after its own, an out-of-order one behind a later one', () => {
    // Those still held when the run ends are written at its end, as late as the run got.
    const end = Math.max(...records.map((r) => r.timestamp))
    let streamTime = Number.NEGATIVE_INFINITY
    for (const record of records) {
      if (record.delay === 'late' && !record.duplicate && record.timestamp + 20_000 <= end) {
        expect(streamTime - record.timestamp).toBeGreaterThanOrEqual(20_000)
      }
      if (record.delay === 'out-of-order' && !record.duplicate)
        expect(streamTime).toBeGreaterThan(record.timestamp)
      streamTime = Math.max(streamTime, record.timestamp)
    }
  })

  it('repeats a duplicated event right after it, same event_id', () => {
    records.forEach((record, i) => {
      if (record.duplicate) expect(records[i - 1]?.event.event_id).toBe(record.event.event_id)
    })
  })

  it('draws the same events whatever the disorder settings (one PRNG stream each)', () => {
    const plain = take({ seed: 11, count: 2000, baseTime: BASE })
    const ids = new Set(records.map((r) => r.event.event_id))
    expect(plain.filter((r) => !ids.has(r.event.event_id))).toEqual([])
  })
})

describe('generator options', () => {
  it.each([
    [{ count: 0 }, /count/],
    [{ outOfOrderShare: 1.5 }, /outOfOrderShare/],
    [{ outOfOrderShare: 0.6, lateShare: 0.6 }, /lateShare: outOfOrderShare \+ lateShare/],
    [{ minAgents: 50, maxAgents: 10 }, /maxAgents/],
    [{ sed: 1 }, /sed/],
  ])('refuse %j naming the option', (options, message) => {
    expect(() => take(options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(message) }),
    )
  })
})
