// Windowed percentiles: an immutable, mergeable quantile sketch (DDSketch, from @datadog/sketches-js) and
// the aggregator factory that plugs it into windowed and session aggregates.
//
// Error bound: with relative accuracy α, for any quantile q the reported value v̂ satisfies
// |v̂ - v| <= α·|v|, where v is the exact quantile under the sketch's rank convention: the element at
// index floor(q·(n - 1)) of the n values sorted ascending (no interpolation). This holds for any input
// distribution, for merged sketches, and after a serde round trip. Values with |v| below ~2.2e-308
// count as 0. Memory grows with log(max/min) / log((1+α)/(1-α)) buckets of the positive and negative
// magnitudes, not with the number of values: about 7,000 buckets for 1e-3 .. 1e9 at α = 0.001, so it
// suits measurements (latencies, sizes), not values spanning the whole double range (1e-300 .. 1).
//
// The library's own merge ignores negative values (and its stores' merge can lose a bin, see merge()),
// and its protobuf serialization drops count, sum, min and max (and needs an undeclared protobufjs), so
// merge and the serde are done here over its stores.
// Sketches are values: add and merge return new sketches, so stores and caches can keep old aggregates.
import { DDSketch } from '@datadog/sketches-js'
import { TopologyError } from '../errors.js'
import type { Serde } from '../serdes.js'

type DenseStore = DDSketch['store']

export class QuantileSketch {
  readonly #sketch: DDSketch

  private constructor(sketch: DDSketch) {
    this.#sketch = sketch
  }

  static empty(relativeAccuracy: number): QuantileSketch {
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `relativeAccuracy must be in (0, 1), got ${relativeAccuracy}`,
        { subject: 'relativeAccuracy' },
      )
    }
    return new QuantileSketch(new DDSketch({ relativeAccuracy }))
  }

  get relativeAccuracy(): number {
    return this.#sketch.mapping.relativeAccuracy
  }
  get count(): number {
    return this.#sketch.count
  }
  get sum(): number {
    return this.#sketch.sum
  }
  /** Exact; Infinity / -Infinity when empty. */
  get min(): number {
    return this.#sketch.min
  }
  get max(): number {
    return this.#sketch.max
  }

  /** A new sketch with `value` added `weight` times. Non-finite values are refused. */
  add(value: number, weight = 1): QuantileSketch {
    if (!Number.isFinite(value) || !(weight > 0)) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `a quantile sketch takes finite values with a positive weight, got ${value} × ${weight}`,
        { subject: 'value' },
      )
    }
    const next = this.#copy()
    next.accept(value, weight)
    return new QuantileSketch(next)
  }

  /** A new sketch holding the values of both; both must have the same relative accuracy. */
  merge(other: QuantileSketch): QuantileSketch {
    const a = this.#sketch
    const b = other.#sketch
    if (!a.mergeable(b)) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `cannot merge quantile sketches of relative accuracy ${this.relativeAccuracy} and ${other.relativeAccuracy}`,
        { subject: 'relativeAccuracy' },
      )
    }
    const next = this.#copy()
    // Not DenseStore.merge: it extends its range with `secondKey || key`, so a store whose max key is 0
    // (a value of magnitude ~1) is not grown to hold it and that value is lost. add() grows correctly.
    fill(next.store, bins(b.store))
    fill(next.negativeStore, bins(b.negativeStore))
    next.zeroCount += b.zeroCount
    next.count += b.count
    next.sum += b.sum
    next.min = Math.min(next.min, b.min)
    next.max = Math.max(next.max, b.max)
    return new QuantileSketch(next)
  }

  /** The value at quantile q in [0, 1], within the relative accuracy; NaN when empty. */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) {
      throw new TopologyError('INVALID_ARGUMENT', `a quantile must be in [0, 1], got ${q}`, {
        subject: 'quantile',
      })
    }
    return this.#sketch.getValueAtQuantile(q)
  }

  #copy(): DDSketch {
    const s = this.#sketch
    const next = new DDSketch({ relativeAccuracy: s.mapping.relativeAccuracy })
    if (s.store.count > 0) next.store.copy(s.store)
    if (s.negativeStore.count > 0) next.negativeStore.copy(s.negativeStore)
    next.zeroCount = s.zeroCount
    next.count = s.count
    next.sum = s.sum
    next.min = s.min
    next.max = s.max
    return next
  }

  /** @internal the serde's view */
  static fromParts(relativeAccuracy: number, parts: SketchParts): QuantileSketch {
    const s = new DDSketch({ relativeAccuracy })
    fill(s.store, parts.positive)
    fill(s.negativeStore, parts.negative)
    s.zeroCount = parts.zeroCount
    s.count = parts.count
    s.sum = parts.sum
    s.min = parts.min
    s.max = parts.max
    return new QuantileSketch(s)
  }

  /** @internal the serde's view */
  toParts(): SketchParts {
    const s = this.#sketch
    return {
      positive: bins(s.store),
      negative: bins(s.negativeStore),
      zeroCount: s.zeroCount,
      count: s.count,
      sum: s.sum,
      min: s.min,
      max: s.max,
    }
  }
}

interface Bins {
  readonly minKey: number
  readonly counts: readonly number[]
}

interface SketchParts {
  readonly positive: Bins
  readonly negative: Bins
  readonly zeroCount: number
  readonly count: number
  readonly sum: number
  readonly min: number
  readonly max: number
}

function bins(store: DenseStore): Bins {
  if (store.count === 0) return { minKey: 0, counts: [] }
  const counts: number[] = []
  for (let k = store.minKey; k <= store.maxKey; k++) counts.push(store.bins[k - store.offset] ?? 0)
  return { minKey: store.minKey, counts }
}

function fill(store: DenseStore, from: Bins): void {
  from.counts.forEach((c, i) => {
    if (c > 0) store.add(from.minKey + i, c)
  })
}

/** The values of the sketch at each quantile (e.g. [0.5, 0.95, 0.99]), each within its relative accuracy. */
export function quantiles(sketch: QuantileSketch, qs: readonly number[]): number[] {
  return qs.map((q) => sketch.quantile(q))
}

// Layout (all big-endian): [version u8 = 1][relativeAccuracy f64][count f64][sum f64][min f64][max f64]
// [zeroCount f64], then positive and negative bins, each [minKey i32][n u32][n × count f64]: the counts of
// the contiguous keys minKey .. minKey + n - 1 (key i holds values in (γ^(i-1), γ^i], γ = (1+α)/(1-α)).
const HEADER = 1 + 6 * 8

export function quantileSketchSerde(): Serde<QuantileSketch> {
  return {
    serialize(_topic, sketch) {
      const p = sketch.toParts()
      const out = Buffer.alloc(HEADER + 16 + 8 * (p.positive.counts.length + p.negative.counts.length))
      out.writeUInt8(1, 0)
      let at = 1
      for (const n of [sketch.relativeAccuracy, p.count, p.sum, p.min, p.max, p.zeroCount]) {
        out.writeDoubleBE(n, at)
        at += 8
      }
      for (const b of [p.positive, p.negative]) {
        out.writeInt32BE(b.minKey, at)
        out.writeUInt32BE(b.counts.length, at + 4)
        at += 8
        for (const c of b.counts) {
          out.writeDoubleBE(c, at)
          at += 8
        }
      }
      return out
    },
    deserialize(_topic, bytes) {
      const version = bytes.readUInt8(0)
      if (version !== 1) {
        throw new TopologyError('INVALID_ARGUMENT', `unknown quantile sketch encoding version ${version}`, {
          subject: 'quantileSketchSerde',
        })
      }
      const f = (i: number) => bytes.readDoubleBE(1 + 8 * i)
      let at = HEADER
      const readBins = (): Bins => {
        const minKey = bytes.readInt32BE(at)
        const n = bytes.readUInt32BE(at + 4)
        at += 8
        const counts: number[] = []
        for (let i = 0; i < n; i++, at += 8) counts.push(bytes.readDoubleBE(at))
        return { minKey, counts }
      }
      const positive = readBins()
      const negative = readBins()
      return QuantileSketch.fromParts(f(0), {
        count: f(1),
        sum: f(2),
        min: f(3),
        max: f(4),
        zeroCount: f(5),
        positive,
        negative,
      })
    },
  }
}

export interface QuantileSketchOptions<V> {
  /** α in (0, 1): each reported quantile is within α·|exact| of the exact one. Default 0.01. */
  readonly relativeAccuracy?: number
  /** The number a record contributes; default the value itself (which must then be a number). */
  readonly extract?: (value: V) => number
}

/** Initializer, aggregator, merger (for sessions) and serde of a windowed quantile aggregate. */
export interface QuantileAggregate<K, V> {
  readonly relativeAccuracy: number
  readonly initializer: () => QuantileSketch
  readonly aggregator: (key: K, value: V, sketch: QuantileSketch) => QuantileSketch
  readonly merger: (key: K, left: QuantileSketch, right: QuantileSketch) => QuantileSketch
  readonly serde: Serde<QuantileSketch>
}

export function quantileSketch<K, V = number>(
  options: QuantileSketchOptions<V> = {},
): QuantileAggregate<K, V> {
  const relativeAccuracy = options.relativeAccuracy ?? 0.01
  const empty = QuantileSketch.empty(relativeAccuracy)
  const extract = options.extract ?? ((v: V) => v as unknown as number)
  return {
    relativeAccuracy,
    initializer: () => empty,
    aggregator: (_key, value, sketch) => sketch.add(extract(value)),
    merger: (_key, left, right) => left.merge(right),
    serde: quantileSketchSerde(),
  }
}
