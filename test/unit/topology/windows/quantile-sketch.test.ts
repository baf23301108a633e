// The quantile sketch against exact quantiles under its own rank convention (the element at index
// floor(q·(n-1)) of the sorted values): within the documented relative error α for random value sets,
// after merging, and after a serde round trip; and as a windowed aggregate in a session merge.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type QuantileSketch,
  quantileSketch,
  quantiles,
} from '../../../../topology/windows/quantile-sketch.js'

const QS = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1]

function exact(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(q * (sorted.length - 1))] as number
}

function build(alpha: number, values: readonly number[]): QuantileSketch {
  const agg = quantileSketch<string>({ relativeAccuracy: alpha })
  let s = agg.initializer()
  for (const v of values) s = agg.aggregator('k', v, s)
  return s
}

function expectWithin(alpha: number, sketch: QuantileSketch, values: readonly number[]): void {
  for (const q of QS) {
    const want = exact(values, q)
    const got = sketch.quantile(q)
    // 1e-12 of slack for the floating-point log/pow of the bucket mapping
    expect(Math.abs(got - want)).toBeLessThanOrEqual(alpha * Math.abs(want) + 1e-12 * Math.abs(want) + 1e-300)
  }
}

const arbAlpha = fc.constantFrom(0.001, 0.01, 0.02, 0.05, 0.1)
// The dense stores span every bucket between the smallest and largest |value|, so the domain is kept to
// the magnitudes of measurements (1e-6 .. 1e9, and 0) rather than the whole double range.
const arbMagnitude = fc.double({ min: 1e-6, max: 1e9, noNaN: true, noDefaultInfinity: true })
const arbValue = fc.oneof(
  arbMagnitude,
  arbMagnitude.map((v) => -v),
  fc.integer({ min: 0, max: 10_000 }),
  fc.constant(0),
)
const arbValues = fc.array(arbValue, { minLength: 1, maxLength: 300 })

describe('quantileSketch', () => {
  it('reports each quantile within α·|exact| (property)', () => {
    fc.assert(
      fc.property(arbAlpha, arbValues, (alpha, values) => {
        const s = build(alpha, values)
        expect(s.count).toBe(values.length)
        expectWithin(alpha, s, values)
      }),
      { numRuns: 300 },
    )
  })

  it('merge(a, b) answers as one sketch over a ∪ b, within the bound, for negatives too (property)', () => {
    fc.assert(
      fc.property(arbAlpha, arbValues, arbValues, (alpha, a, b) => {
        const agg = quantileSketch<string>({ relativeAccuracy: alpha })
        const sa = build(alpha, a)
        const sb = build(alpha, b)
        const merged = agg.merger('k', sa, sb)
        expectWithin(alpha, merged, [...a, ...b])
        const whole = build(alpha, [...a, ...b])
        expect(quantiles(merged, QS)).toEqual(quantiles(whole, QS))
        // merging makes new values: the inputs are unchanged
        expect(sa.count).toBe(a.length)
        expect(quantiles(sa, QS)).toEqual(quantiles(build(alpha, a), QS))
      }),
      { numRuns: 200 },
    )
  })

  it('merge keeps a value whose bucket key is 0 (DenseStore.merge drops it; found by the property above)', () => {
    // Seed 1144025451: -0.904... falls in bucket key 0 of the negative store at α = 0.05.
    const a = [-0.000001, 0]
    const b = [-0.9047619047619048, -0.000001, 0]
    const merged = quantileSketch<string>({ relativeAccuracy: 0.05 }).merger(
      'k',
      build(0.05, a),
      build(0.05, b),
    )
    expectWithin(0.05, merged, [...a, ...b])
    expect(quantiles(merged, QS)).toEqual(quantiles(build(0.05, [...a, ...b]), QS))
  })

  it('round-trips through its serde with the same quantiles, count, sum, min and max (property)', () => {
    fc.assert(
      fc.property(arbAlpha, fc.array(arbValue, { maxLength: 200 }), (alpha, values) => {
        const { serde } = quantileSketch<string>({ relativeAccuracy: alpha })
        const s = build(alpha, values)
        const back = serde.deserialize('t', serde.serialize('t', s) as Buffer)
        expect(back.relativeAccuracy).toBe(alpha)
        expect([back.count, back.sum, back.min, back.max]).toEqual([s.count, s.sum, s.min, s.max])
        if (values.length > 0) expect(quantiles(back, QS)).toEqual(quantiles(s, QS))
        // and it keeps aggregating as the original would
        expect(quantiles(back.add(42), QS)).toEqual(quantiles(s.add(42), QS))
      }),
      { numRuns: 200 },
    )
  })

  it('is a value: adding leaves the old sketch as it was', () => {
    const { initializer, aggregator } = quantileSketch<string>({ relativeAccuracy: 0.01 })
    const empty = initializer()
    const one = aggregator('k', 10, empty)
    const two = aggregator('k', 1000, one)
    expect([empty.count, one.count, two.count]).toEqual([0, 1, 2])
    expect(Number.isNaN(empty.quantile(0.5))).toBe(true)
    expect(one.quantile(0.99)).toBeCloseTo(10, 0)
    expect(Math.abs(two.quantile(1) - 1000)).toBeLessThanOrEqual(10)
  })

  it('takes a value extractor and refuses bad arguments with a message naming them', () => {
    const agg = quantileSketch<string, { ms: number }>({ relativeAccuracy: 0.05, extract: (v) => v.ms })
    const s = agg.aggregator('k', { ms: 120 }, agg.initializer())
    expect(Math.abs(s.quantile(0.5) - 120)).toBeLessThanOrEqual(6)
    expect(() => quantileSketch({ relativeAccuracy: 0 })).toThrow(/relativeAccuracy/)
    expect(() => s.add(Number.NaN)).toThrow(/finite/)
    expect(() => s.quantile(1.5)).toThrow(/quantile/)
    expect(() => s.merge(build(0.01, [1]))).toThrow(/relative accuracy/)
  })
})
