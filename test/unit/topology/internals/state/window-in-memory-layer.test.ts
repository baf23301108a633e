// The innermost window/session layer, with its values kept serialized (every store with a value serde)
// or as objects: both behave as a naive model (a list of entries, filtered and sorted on every read)
// for any sequence of writes, reads and expiry: same reads, same retention, same expiry notifications.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Serdes } from '../../../../../topology/index.js'
import { keyIdFunction } from '../../../../../topology/internals/state/key-id.js'
import { ObjectValues, SerializedValues } from '../../../../../topology/internals/state/value-slots.js'
import { WindowInMemoryLayer } from '../../../../../topology/internals/state/window-in-memory-layer.js'
import type {
  BaseWindowLayer,
  ExpiryListener,
  TimedEntry,
} from '../../../../../topology/internals/state/window-layer.js'
import type { Serde } from '../../../../../topology/serdes.js'

const str = Serdes.String()
const keyBytes = (k: string) => Buffer.from(k)

/** The contract, naively: entries in a list; what expires goes once the largest end written passes it. */
class NaiveWindows implements BaseWindowLayer<string, string> {
  readonly name = 'w'
  #entries: { key: string; start: number; end: number; value: string }[] = []
  observedEnd = Number.NEGATIVE_INFINITY
  onExpire: ExpiryListener<string> | undefined

  constructor(readonly retentionMs: number) {}

  get(key: string, start: number, end: number): string | undefined {
    return this.#entries.find((e) => e.key === key && e.start === start && e.end === end)?.value
  }

  put(key: string, start: number, end: number, value: string | null): boolean {
    this.observedEnd = Math.max(this.observedEnd, end)
    const bound = this.observedEnd - this.retentionMs
    if (end <= bound) return false
    const i = this.#entries.findIndex((e) => e.key === key && e.start === start && e.end === end)
    if (value === null) {
      if (i >= 0) this.#entries.splice(i, 1)
    } else if (i >= 0) (this.#entries[i] as { value: string }).value = value
    else this.#entries.push({ key, start, end, value })
    this.#expire(bound)
    return true
  }

  observe(end: number): void {
    if (end <= this.observedEnd) return
    this.observedEnd = end
    this.#expire(end - this.retentionMs)
  }

  fetchKey(key: string): TimedEntry<string, string>[] {
    return this.#entries.filter((e) => e.key === key).sort((a, b) => a.start - b.start || a.end - b.end)
  }

  fetchByEnd(from: number, to: number): TimedEntry<string, string>[] {
    return this.#entries
      .filter((e) => e.end >= from && e.end <= to)
      .sort((a, b) => a.end - b.end || a.start - b.start || Buffer.compare(keyBytes(a.key), keyBytes(b.key)))
  }

  approximateNumEntries(): number {
    return this.#entries.length
  }

  approximateBytes(): number {
    return JSON.stringify(this.#entries).length
  }

  flush(): void {}
  close(): void {}

  #expire(bound: number): void {
    const dead = this.#entries.filter((e) => e.end <= bound)
    this.#entries = this.#entries.filter((e) => e.end > bound)
    for (const e of dead) this.onExpire?.(e.key, e.start, e.end)
  }
}

type Op =
  | { op: 'put'; key: string; start: number; len: number; value: string | null }
  | { op: 'get'; key: string; start: number; len: number }
  | { op: 'fetchKey'; key: string }
  | { op: 'fetchByEnd'; from: number; to: number }
  | { op: 'observe'; end: number }

// Varied lengths, so that values outgrow their bytes and the arena is rewritten.
const value = fc.option(fc.string({ maxLength: 40 }), { freq: 3 })

/** Operations over `keys` keys and windows starting in [0, maxStart], `maxLen` long at most. */
function ops(keys: readonly string[], maxStart: number, maxLen: number): fc.Arbitrary<Op[]> {
  const key = fc.constantFrom(...keys)
  const start = fc.integer({ min: 0, max: maxStart })
  const len = fc.integer({ min: 0, max: maxLen })
  const time = fc.integer({ min: 0, max: 2 * (maxStart + maxLen) })
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('put' as const), key, start, len, value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), key, start, len }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('fetchKey' as const), key }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(time, time)
        .map(([a, b]) => ({ op: 'fetchByEnd' as const, from: Math.min(a, b), to: Math.max(a, b) })),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('observe' as const), end: time }) },
  )
  return fc.array(op, { maxLength: 300, size: 'max' })
}

const plain = ({ key, start, end, value }: TimedEntry<string, string>) => ({ key, start, end, value })

function run(layer: BaseWindowLayer<string, string>, ops: readonly Op[]): unknown[] {
  const seen: unknown[] = []
  // Entries expiring together may be told in any order: sorted per operation.
  let expired: [string, number, number][] = []
  layer.onExpire = (k, s, e) => expired.push([k, s, e])
  for (const o of ops) {
    switch (o.op) {
      case 'put':
        seen.push(['put', layer.put(o.key, o.start, o.start + o.len, o.value)])
        break
      case 'get':
        seen.push(['get', layer.get(o.key, o.start, o.start + o.len)])
        break
      case 'fetchKey':
        seen.push(['fetchKey', layer.fetchKey(o.key).map(plain)])
        break
      case 'fetchByEnd':
        seen.push(['fetchByEnd', layer.fetchByEnd(o.from, o.to).map(plain)])
        break
      case 'observe':
        layer.observe(o.end)
        break
    }
    seen.push(['expired', expired.sort((a, b) => a[1] - b[1] || a[2] - b[2] || (a[0] < b[0] ? -1 : 1))])
    expired = []
    seen.push(['size', layer.approximateNumEntries(), layer.observedEnd])
  }
  return seen
}

function serialized(
  retentionMs: number,
  serde: Serde<string> = str,
): WindowInMemoryLayer<string, string, Buffer> {
  return new WindowInMemoryLayer(
    'w',
    keyIdFunction(str, 't'),
    retentionMs,
    new SerializedValues(serde, 't'),
    keyBytes,
  )
}

const objects = (retentionMs: number) =>
  new WindowInMemoryLayer<string, string>(
    'w',
    keyIdFunction(str, 't'),
    retentionMs,
    new ObjectValues<string>(),
    keyBytes,
  )

describe('WindowInMemoryLayer', () => {
  // Many keys over many windows, and a few keys crowding a few ends (several entries per end, removed
  // from the middle of an end's list).
  for (const [what, keys, maxStart, maxLen] of [
    ['many windows', ['a', 'b', 'c', 'dd', 'é', ''], 60, 12],
    ['crowded ends', ['a', 'b', 'c', 'd'], 3, 1],
  ] as const)
    for (const [kept, make] of [
      ['serialized', serialized],
      ['as objects', objects],
    ] as const)
      it(`with values kept ${kept}, behaves as the model for any writes, reads and expiry (${what})`, () => {
        fc.assert(
          fc.property(fc.integer({ min: 0, max: 40 }), ops(keys, maxStart, maxLen), (retention, list) => {
            expect(run(make(retention), list)).toEqual(run(new NaiveWindows(retention), list))
          }),
          { numRuns: 200 },
        )
      })

  it('keeps every value exact while values grow and the arena is rewritten many times', () => {
    const layer = serialized(1_000_000)
    const expected = new Map<string, string>()
    for (let round = 0; round < 50; round++)
      for (let k = 0; k < 500; k++) {
        const v = `${k}:`.padEnd((k * 7 + round * 13) % 90, 'x')
        layer.put(`k${k}`, k % 3, 10, v)
        expected.set(`k${k}`, v)
      }
    for (const [k, v] of expected) expect(layer.get(k, Number(k.slice(1)) % 3, 10)).toBe(v)
    expect(layer.approximateNumEntries()).toBe(500)
  })

  it('never overwrites bytes a value read earlier may keep a view of', () => {
    // Deserializes to the very Buffer it was given, as avsc does for a `bytes` field.
    const view: Serde<Buffer> = { serialize: (_t, v) => v, deserialize: (_t, b) => b }
    const layer = new WindowInMemoryLayer(
      'w',
      keyIdFunction(str, 't'),
      100,
      new SerializedValues(view, 't'),
      keyBytes,
    )
    layer.put('a', 0, 10, Buffer.from('first'))
    const read = layer.get('a', 0, 10)
    layer.put('a', 0, 10, Buffer.from('other'))
    for (let i = 0; i < 2000; i++) layer.put(`k${i}`, 0, 10, Buffer.alloc(i % 50, 1)) // rewrites the arena
    expect(read?.toString()).toBe('first')
    expect(layer.get('a', 0, 10)?.toString()).toBe('other')
  })

  it('treats a value its serializer writes as null as a delete, as the changelog tombstone restores it', () => {
    const nullable: Serde<string> = {
      serialize: (t, v) => (v === 'none' ? null : str.serialize(t, v)),
      deserialize: (t, b) => str.deserialize(t, b),
    }
    const layer = serialized(100, nullable)
    layer.put('a', 0, 10, 'x')
    layer.put('a', 0, 10, 'none')
    expect(layer.get('a', 0, 10)).toBeUndefined()
    expect(layer.approximateNumEntries()).toBe(0)
  })

  it('restores changelog bytes as they are, and expires silently while restoring', () => {
    const layer = serialized(10)
    const expired: unknown[] = []
    layer.onExpire = (...e) => expired.push(e)
    layer.restore('a', 0, 5, Buffer.from('old'))
    layer.restore('b', 20, 25, Buffer.from('new'))
    expect(layer.get('a', 0, 5)).toBeUndefined()
    expect(layer.get('b', 20, 25)).toBe('new')
    expect(expired).toEqual([])
    layer.put('c', 40, 45, 'v')
    expect(expired).toEqual([['b', 20, 25]])
  })

  it('reuses the slots of expired windows without mixing up their values', () => {
    const layer = serialized(100)
    for (let t = 0; t < 200; t++)
      for (let k = 0; k < 1000; k++) layer.put(`k${k}`, t * 100, t * 100 + 100, `${t}:${k}`)
    expect(layer.approximateNumEntries()).toBe(1000) // the windows ending at the last end
    const live = layer.fetchByEnd(0, Number.POSITIVE_INFINITY)
    expect(live.map((e) => [e.key, e.start, e.value])).toEqual(
      [...Array(1000).keys()]
        .map((k) => [`k${k}`, 19_900, `199:${k}`] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    )
  })
})
