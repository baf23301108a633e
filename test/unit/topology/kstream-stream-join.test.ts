// Windowed KStream-KStream joins: the inner-join column of the KStream-KStream join table in Kafka
// Streams' docs (docs/streams/developer-guide/dsl-api.html; inputs of the Kafka wiki page "Kafka Streams
// Join Semantics"), and the left/outer behaviour of Kafka >= 3.1 (KAFKA-10847, the spurious-result fix):
// an unmatched record is joined with null only once its window has closed, and never if it matched.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  JoinWindows,
  type KStream,
  StreamsBuilder,
  TopologyError,
  TopologyTestDriver,
} from '../../../topology/index.js'
import { joinTopics, runDocsTable, show, str } from './join-fixtures.js'

type Kind = 'join' | 'leftJoin' | 'outerJoin'

function joinDriver(kind: Kind, windows: JoinWindows) {
  const b = new StreamsBuilder()
  const left = b.stream<string, string>('left', { keySerde: str, valueSerde: str })
  const right = b.stream<string, string>('right', { keySerde: str, valueSerde: str })
  const joined: KStream<string, string> =
    kind === 'join'
      ? left.join(right, (l, r) => show(l, r), windows)
      : kind === 'leftJoin'
        ? left.leftJoin(right, (l, r) => show(l, r), windows)
        : left.outerJoin(right, (l, r) => show(l, r), windows)
  joined.to('out', { keySerde: str, valueSerde: str })
  const driver = new TopologyTestDriver(b.build())
  return joinTopics(driver)
}

// The docs' inner-join column; every record falls in one window.
const DOCS_INNER: [number, string][] = [
  [4, '[A, a]'],
  [5, '[B, a]'],
  [6, '[A, b]'],
  [6, '[B, b]'],
  [9, '[C, a]'],
  [9, '[C, b]'],
  [10, '[A, c]'],
  [10, '[B, c]'],
  [10, '[C, c]'],
  [14, '[A, d]'],
  [14, '[B, d]'],
  [14, '[C, d]'],
  [15, '[D, a]'],
  [15, '[D, b]'],
  [15, '[D, c]'],
  [15, '[D, d]'],
]

function docsTable(kind: Kind): [number, string | null][] {
  return runDocsTable(joinDriver(kind, JoinWindows.ofTimeDifferenceWithNoGrace(100)))
}

describe('KStream-KStream join', () => {
  it('inner join: the docs table', () => expect(docsTable('join')).toEqual(DOCS_INNER))

  it('left and outer joins: the docs table without the [A, null] the docs show at 3 (Kafka >= 3.1)', () => {
    // A matched a at 4 inside its window, so the fixed join never emits [A, null].
    expect(docsTable('leftJoin')).toEqual(DOCS_INNER)
    expect(docsTable('outerJoin')).toEqual(DOCS_INNER)
  })

  it('left join: an unmatched record is joined with null once after + grace has passed it', () => {
    const { left, right, out } = joinDriver('leftJoin', JoinWindows.ofTimeDifferenceAndGrace(10, 5))
    left.pipeInput('k', 'A', 0)
    right.pipeInput('other', 'x', 15) // 0 + 10 + 5 >= 15: still open
    expect(out.readKeyValuesToList()).toEqual([])
    right.pipeInput('other', 'y', 16) // closed: emitted at its own timestamp
    expect(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([['k', '[A, null]', 0]])
    right.pipeInput('other', 'z', 100)
    expect(out.readKeyValuesToList()).toEqual([])
  })

  it('left join: a match inside the window withholds the null result; unmatched right records emit nothing', () => {
    const { left, right, out } = joinDriver('leftJoin', JoinWindows.ofTimeDifferenceWithNoGrace(10))
    left.pipeInput('k', 'A', 0)
    right.pipeInput('k', 'a', 10) // |10 - 0| <= 10
    right.pipeInput('j', 'b', 20)
    left.pipeInput('j', 'B', 31) // b is 11 before: no match
    left.pipeInput('z', 'Z', 100)
    expect(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['k', '[A, a]', 10],
      ['j', '[B, null]', 31],
    ])
  })

  it('outer join: unmatched records of both sides, each after its own window closes', () => {
    const windows = JoinWindows.ofTimeDifferenceWithNoGrace(0).before(2).after(5)
    const { left, right, out } = joinDriver('outerJoin', windows)
    right.pipeInput('k', 'a', 7) // joins left records in [2, 9]
    left.pipeInput('k', 'A', 10) // joins right records in [8, 15]: not a
    // a's window is closed (7 + 2 < 10), but the scan is skipped while min + after + grace >= stream
    // time (7 + 5 >= 10), as Kafka's emitNonJoinedOuterRecords does.
    expect(out.readKeyValuesToList()).toEqual([])
    right.pipeInput('x', 'x', 16) // A: 10 + 5 < 16 closed; a: 7 + 2 < 16 closed
    expect(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['k', '[null, a]', 7],
      ['k', '[A, null]', 10],
    ])
  })

  // Kafka's shared outer store is keyed [timestamp][side: right 0, left 1][serialized key]
  // (TimestampedKeyAndJoinSideSerializer), and emitNonJoinedOuterRecords iterates it in that order.
  it('outer join: unmatched records closing together come by timestamp, right side first, then key', () => {
    const { left, right, out } = joinDriver('outerJoin', JoinWindows.ofTimeDifferenceWithNoGrace(1))
    left.pipeInput('b', 'B', 5)
    left.pipeInput('ab', 'AB', 5)
    right.pipeInput('c', 'c', 5)
    left.pipeInput('a', 'A1', 5)
    right.pipeInput('a', 'a', 5)
    left.pipeInput('a', 'A2', 4)
    right.pipeInput('z', 'z', 4)
    left.pipeInput('a', 'A3', 5)
    expect(out.readKeyValuesToList()).toEqual([
      ['a', '[A1, a]'],
      ['a', '[A2, a]'],
      ['a', '[A3, a]'],
    ])
    left.pipeInput('x', 'X', 100)
    expect(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['z', '[null, z]', 4],
      ['c', '[null, c]', 5],
      ['ab', '[AB, null]', 5],
      ['b', '[B, null]', 5],
    ])
  })

  it('before/after bound the window asymmetrically and the result has the later timestamp', () => {
    const windows = JoinWindows.ofTimeDifferenceWithNoGrace(0).after(5)
    const { left, right, out } = joinDriver('join', windows)
    left.pipeInput('k', 'A', 10)
    right.pipeInput('k', 'early', 9)
    right.pipeInput('k', 'late', 15)
    right.pipeInput('k', 'too-late', 16)
    expect(out.readRecordsToList().map((r) => [r.value, r.timestamp])).toEqual([['[A, late]', 15]])
  })

  it('an out-of-order unmatched record whose window already closed is joined with null at once', () => {
    const { left, right, out } = joinDriver('leftJoin', JoinWindows.ofTimeDifferenceWithNoGrace(5))
    right.pipeInput('x', 'x', 100)
    left.pipeInput('k', 'A', 10)
    expect(out.readKeyValuesToList()).toEqual([['k', '[A, null]']])
  })

  it('records of one key and timestamp are all kept (duplicates), null keys and values handled as Kafka', () => {
    const { left, right, out } = joinDriver('leftJoin', JoinWindows.ofTimeDifferenceWithNoGrace(5))
    right.pipeInput('k', 'a1', 1)
    right.pipeInput('k', 'a2', 1)
    left.pipeInput('k', 'A', 2)
    left.pipeInput(null, 'N', 3) // left join: joined with null at once (KIP-962)
    left.pipeInput('k', null, 3) // dropped
    right.pipeInput(null, 'n', 3) // the right side of a left join: dropped
    expect(out.readKeyValuesToList()).toEqual([
      ['k', '[A, a1]'],
      ['k', '[A, a2]'],
      [null, '[N, null]'],
    ])
  })

  it('describe() shows both window stores and the shared outer store; the inputs are co-partitioned', () => {
    const b = new StreamsBuilder()
    const left = b.stream<string, string>('left', { keySerde: str, valueSerde: str })
    const right = b.stream<string, string>('right', { keySerde: str, valueSerde: str })
    left
      .leftJoin(right, (l, r) => show(l, r), JoinWindows.ofTimeDifferenceWithNoGrace(5), { name: 'lr' })
      .to('out', { keySerde: str, valueSerde: str })
    const topology = b.build()
    expect(topology.copartitionGroups()).toEqual([['left', 'right']])
    const text = topology.describe().toString()
    expect(topology.describe().subtopologies).toHaveLength(1)
    expect(text).toContain('Processor: lr-this-windowed (stores: [lr-this-join-store])')
    expect(text).toContain('Processor: lr-other-windowed (stores: [lr-other-join-store])')
    expect(text).toContain(
      'Processor: lr-this-join (stores: [lr-other-join-store, lr-outer-shared-join-store])',
    )
    expect(text).toContain(
      'Processor: lr-other-join (stores: [lr-this-join-store, lr-outer-shared-join-store])',
    )
    expect(text).toContain('Processor: lr-merge (stores: [])\n      --> KSTREAM-SINK')
    expect(topology.changelogTopicConfigs('app').map((t) => [t.topic, t.windowSizeMs])).toEqual([
      ['app-lr-this-join-store-changelog', 10],
      ['app-lr-other-join-store-changelog', 10],
      ['app-lr-outer-shared-join-store-changelog', 0],
    ])
  })

  it('repartitions a re-keyed side before the join', () => {
    const b = new StreamsBuilder()
    const left = b.stream<string, string>('left', { keySerde: str, valueSerde: str }).selectKey((_k, v) => v)
    const right = b.stream<string, string>('right', { keySerde: str, valueSerde: str })
    left
      .join(right, (l, r) => show(l, r), JoinWindows.ofTimeDifferenceWithNoGrace(5), { name: 'j' })
      .to('out', { keySerde: str, valueSerde: str })
    const topology = b.build()
    expect(topology.repartitionTopics('app')).toEqual(['app-j-left-repartition'])
    expect(topology.copartitionGroups('app')).toEqual([['app-j-left-repartition', 'right']])
    const driver = new TopologyTestDriver(topology)
    driver.createInputTopic('left', str, str).pipeInput('ignored', 'k', 1)
    driver.createInputTopic('right', str, str).pipeInput('k', 'a', 2)
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([['k', '[k, a]']])
  })

  it('JoinWindows validates', () => {
    expect(() => JoinWindows.ofTimeDifferenceWithNoGrace(-1)).toThrow(TopologyError)
    expect(() => JoinWindows.ofTimeDifferenceAndGrace(1, -1)).toThrow(TopologyError)
    expect(() => JoinWindows.ofTimeDifferenceWithNoGrace(1).before(-2)).toThrow(/must not be negative/)
    const w = JoinWindows.ofTimeDifferenceAndGrace(3, 2).after(7)
    expect([w.beforeMs, w.afterMs, w.graceMs, w.sizeMs, w.retentionMs]).toEqual([3, 7, 2, 10, 12])
  })
})

// A deliberately naive reading of the windowed join (Kafka >= 3.1), over plain arrays: each record joins
// every earlier record of the other side with its key inside the window that the other side's store still
// holds (Kafka's rule: a store of retention before + after + grace drops a record once its timestamp is
// <= the largest timestamp that store has seen - retention, so with none of the three, records of equal
// timestamps do not join, in Kafka Streams too); an unmatched record of an outer
// side is joined with null at once if its window already ended by stream time, else it waits and is
// joined with null at the end unless a later record matched it. Timestamps are out of order by less than
// the grace, so no record is dropped from a store before it could match; the output is compared as a
// multiset (the oracle test compares the order against Kafka Streams itself), after a final record far
// in the future has closed every window.
describe('KStream-KStream join against a naive reference (property)', () => {
  interface In {
    readonly left: boolean
    readonly key: string
    readonly value: string
    readonly ts: number
  }

  function naive(kind: Kind, windows: JoinWindows, records: readonly In[]): string[] {
    const { beforeMs: before, afterMs: after } = windows
    const seen: In[] = []
    const waiting = new Set<In>()
    const out: string[] = []
    let streamTime = Number.NEGATIVE_INFINITY
    const outer = (r: In) => (r.left ? kind !== 'join' : kind === 'outerJoin')
    const retention = windows.retentionMs
    const largest = { left: Number.NEGATIVE_INFINITY, right: Number.NEGATIVE_INFINITY }
    for (const r of records) {
      streamTime = Math.max(streamTime, r.ts)
      if (r.left) largest.left = Math.max(largest.left, r.ts)
      else largest.right = Math.max(largest.right, r.ts)
      const matches = seen.filter(
        (o) =>
          o.left !== r.left &&
          o.key === r.key &&
          o.ts > (o.left ? largest.left : largest.right) - retention &&
          (r.left
            ? o.ts >= r.ts - before && o.ts <= r.ts + after
            : o.ts >= r.ts - after && o.ts <= r.ts + before),
      )
      for (const m of matches) {
        const [l, rr] = r.left ? [r, m] : [m, r]
        out.push(`${r.key} ${show(l.value, rr.value)} ${Math.max(r.ts, m.ts)}`)
        waiting.delete(m)
      }
      if (matches.length === 0 && outer(r)) {
        if (r.ts + (r.left ? after : before) < streamTime) out.push(nullJoin(r))
        else waiting.add(r)
      }
      seen.push(r)
    }
    for (const r of waiting) out.push(nullJoin(r))
    return out.sort()
  }

  const nullJoin = (r: In) => `${r.key} ${r.left ? show(r.value, null) : show(null, r.value)} ${r.ts}`

  const arbCase = fc
    .record({
      kind: fc.constantFrom<Kind>('join', 'leftJoin', 'outerJoin'),
      before: fc.integer({ min: 0, max: 8 }),
      after: fc.integer({ min: 0, max: 8 }),
      grace: fc.integer({ min: 0, max: 8 }),
      records: fc.array(
        fc.tuple(fc.boolean(), fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 3 }), fc.nat(100)),
        { maxLength: 50 },
      ),
    })
    .map(({ kind, before, after, grace, records }) => {
      // Each record is at most grace - 1 behind the largest timestamp so far (none when grace is 0).
      let max = 0
      let base = 0
      const ins: In[] = records.map(([left, key, step, jitter], i) => {
        base += step
        const ts = Math.max(0, base - (grace === 0 ? 0 : jitter % grace))
        max = Math.max(max, ts)
        return { left, key, value: `${left ? 'L' : 'R'}${i}`, ts }
      })
      return {
        kind,
        windows: JoinWindows.ofTimeDifferenceAndGrace(before, grace).after(after),
        records: ins,
        max,
      }
    })

  it('inner, left and outer joins give the naive results', () => {
    fc.assert(
      fc.property(arbCase, ({ kind, windows, records, max }) => {
        const { left, right, out } = joinDriver(kind, windows)
        for (const r of records) (r.left ? left : right).pipeInput(r.key, r.value, r.ts)
        // Far past every window: the join emits every record still waiting (the flush record waits itself).
        left.pipeInput('flush', 'F', max + windows.beforeMs + windows.afterMs + windows.graceMs + 100)
        const ours = out
          .readRecordsToList()
          .filter((o) => o.key !== 'flush')
          .map((o) => `${o.key} ${o.value} ${o.timestamp}`)
          .sort()
        expect(ours).toEqual(naive(kind, windows, records))
      }),
      { numRuns: 300 },
    )
  })
})
