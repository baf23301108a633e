// Sliding-window aggregations through the DSL and the TopologyTestDriver: windows created around records
// as Kafka Streams' KStreamSlidingWindowAggregate creates them (left, right and previous-record right
// windows, worked by hand from its source), emit-final once per window, late records with their reason
// and in EngineMetrics, restore from the changelog, Kafka's retention rule and no cache for emit-final.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  EmitStrategy,
  type EngineMetrics,
  type LateRecord,
  Materialized,
  NO_METRICS,
  Serdes,
  SlidingWindows,
  StreamsBuilder,
  type Topology,
  TopologyBuildError,
  TopologyTestDriver,
  type Windowed,
  WindowedSerdes,
} from '../../../topology/index.js'

const str = Serdes.String()
const long = Serdes.Long()

type Row = [key: string, start: number, end: number, value: number | null, timestamp: number]

function rows(driver: TopologyTestDriver, td: number): Row[] {
  return driver
    .createOutputTopic<Windowed<string>, number>('out', WindowedSerdes.timeWindowed(str, td), long)
    .readRecordsToList()
    .map((r) => [
      r.key?.key as string,
      r.key?.window.start as number,
      r.key?.window.end as number,
      r.value,
      r.timestamp,
    ])
}

function slidingCount(
  windows: SlidingWindows,
  emit = EmitStrategy.onWindowUpdate(),
  materialized = Materialized.as<string, number>('sliding'),
): Topology {
  const b = new StreamsBuilder()
  const counts = b
    .stream<string, string>('in', { keySerde: str, valueSerde: str })
    .groupByKey()
    .windowedBy(windows)
    .emitStrategy(emit)
    .count(materialized)
  counts.toStream().to('out')
  counts.lateRecords().to('late', { valueSerde: Serdes.Json<LateRecord<string>>() })
  return b.build()
}

function pipe(driver: TopologyTestDriver, records: ReadonlyArray<readonly [string, number]>): void {
  const input = driver.createInputTopic('in', str, str)
  for (const [key, timestamp] of records) input.pipeInput(key, 'v', timestamp)
}

describe('sliding-window aggregations (DSL)', () => {
  it('count: the windows Kafka Streams creates around each record', () => {
    const driver = new TopologyTestDriver(slidingCount(SlidingWindows.ofTimeDifferenceAndGrace(10, 100)))
    pipe(driver, [['a', 20]])
    // a@20: its left window [10,20]; no later record, so no right window.
    expect(rows(driver, 10)).toEqual([['a', 10, 20, 1, 20]])
    pipe(driver, [['a', 25]])
    // a@25: a@20's right window [21,31] (holds a@25 only), and its own left window [15,25], seeded
    // with [10,20] because a@20 falls in it.
    expect(rows(driver, 10)).toEqual([
      ['a', 21, 31, 1, 25],
      ['a', 15, 25, 2, 25],
    ])
    pipe(driver, [['a', 40]])
    // a@40: left window [30,40] only; a@25's right window [26,36] would not contain a@40.
    expect(rows(driver, 10)).toEqual([['a', 30, 40, 1, 40]])
    pipe(driver, [['a', 22]])
    // Out of order a@22: updates [21,31] and [15,25], creates its left window [12,22] (seeded with
    // [10,20]) and its right window [23,33] (a@25 alone, the aggregate of [21,31] before a@22).
    expect(rows(driver, 10)).toEqual([
      ['a', 21, 31, 2, 25],
      ['a', 15, 25, 3, 25],
      ['a', 12, 22, 2, 22],
      ['a', 23, 33, 1, 25],
    ])
    const store = driver.getWindowStore<string, { value: number }>('sliding')
    expect(store.fetch('a', 15)?.value).toBe(3)
  })

  it('count: every window holds exactly the records within timeDifference of each other (random orders)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 60 })), {
          minLength: 1,
          maxLength: 25,
        }),
        fc.integer({ min: 0, max: 8 }),
        (records, td) => {
          // Grace covers every disorder, so no record is late and every window is final at the end.
          const driver = new TopologyTestDriver(
            slidingCount(SlidingWindows.ofTimeDifferenceAndGrace(td, 1000)),
          )
          pipe(driver, records)
          const latest = new Map<string, Row>()
          for (const row of rows(driver, td)) latest.set(`${row[0]}@${row[1]}`, row)
          for (const [key, start, end, count] of latest.values()) {
            const inside = records.filter(([k, t]) => k === key && t >= start && t <= end).length
            expect(count).toBe(inside)
          }
          // Each record's left window (or [0, td] for early ones) exists with every record in it.
          for (const [key, t] of records) {
            const start = Math.max(0, t - td)
            expect(latest.get(`${key}@${start}`)).toBeDefined()
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  it('emit final: each window once, after it closes (end < stream time - grace), never again', () => {
    const driver = new TopologyTestDriver(
      slidingCount(SlidingWindows.ofTimeDifferenceWithNoGrace(10), EmitStrategy.onWindowClose()),
    )
    pipe(driver, [
      ['a', 20],
      ['a', 25],
    ])
    // Stream time 25 closes [10,20] (end < 25), then 26 closes [15,25].
    expect(rows(driver, 10)).toEqual([['a', 10, 20, 1, 20]])
    pipe(driver, [['b', 26]])
    expect(rows(driver, 10)).toEqual([['a', 15, 25, 2, 25]])
    pipe(driver, [['a', 40]])
    // By end, then key.
    expect(rows(driver, 10)).toEqual([
      ['b', 16, 26, 1, 26],
      ['a', 21, 31, 1, 25],
    ])
    pipe(driver, [['a', 40]])
    expect(rows(driver, 10)).toEqual([])
    pipe(driver, [['b', 45]])
    expect(rows(driver, 10)).toEqual([['a', 30, 40, 2, 40]])
    pipe(driver, [['a', 52]])
    expect(rows(driver, 10)).toEqual([['b', 35, 45, 1, 45]])
    pipe(driver, [['a', 52]])
    expect(rows(driver, 10)).toEqual([])
  })

  it('emit final gives each window exactly once, with the last update of emit on update (random orders)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 60 })), {
          minLength: 1,
          maxLength: 25,
        }),
        fc.integer({ min: 0, max: 8 }),
        (records, td) => {
          // No record is late (grace covers the disorder); z@10000 closes every window of a and b.
          const windows = SlidingWindows.ofTimeDifferenceAndGrace(td, 100)
          const all: Array<readonly [string, number]> = [...records, ['z', 10_000]]
          const onUpdate = new TopologyTestDriver(slidingCount(windows))
          const onClose = new TopologyTestDriver(slidingCount(windows, EmitStrategy.onWindowClose()))
          pipe(onUpdate, all)
          pipe(onClose, all)
          const latest = new Map<string, Row>()
          for (const row of rows(onUpdate, td)) if (row[0] !== 'z') latest.set(`${row[0]}@${row[1]}`, row)
          const finals = rows(onClose, td)
          const seen = new Set(finals.map((r) => `${r[0]}@${r[1]}`))
          expect(seen.size).toBe(finals.length)
          const byWindow = (x: Row, y: Row) => x[0].localeCompare(y[0]) || x[1] - y[1]
          expect([...finals].sort(byWindow)).toEqual([...latest.values()].sort(byWindow))
        },
      ),
      { numRuns: 60 },
    )
  })

  it('late records go to lateRecords() with the reason and are counted in EngineMetrics', () => {
    const late: Array<[string, string, string]> = []
    const metrics: EngineMetrics = {
      ...NO_METRICS,
      lateRecord: (taskId, processor, store) => late.push([taskId, processor, store]),
    }
    const driver = new TopologyTestDriver(slidingCount(SlidingWindows.ofTimeDifferenceWithNoGrace(10)), {
      metrics,
    })
    pipe(driver, [
      ['a', 40],
      ['a', 20], // 20 + 10 < 40: too late for every window
      ['a', 30], // still in [30,40]
    ])
    expect(rows(driver, 10)).toEqual([
      ['a', 30, 40, 1, 40],
      ['a', 30, 40, 2, 40],
      // a@30's right window holds the later a@40.
      ['a', 31, 41, 1, 40],
    ])
    const lateOut = driver
      .createOutputTopic('late', str, Serdes.Json<LateRecord<string>>())
      .readRecordsToList()
    expect(lateOut.map((r) => [r.key, r.timestamp, r.value])).toEqual([
      [
        'a',
        20,
        {
          value: 'v',
          reason: {
            rule: 'sliding-window-closed',
            timestamp: 20,
            streamTime: 40,
            closeTime: 40,
            window: { start: 20, end: 30 },
          },
        },
      ],
    ])
    expect(late).toEqual([['0_0', 'KSTREAM-AGGREGATE-0000000001', 'sliding']])
  })

  it('a driver restored from the changelog continues with the same results (emit final included)', () => {
    for (const emit of [EmitStrategy.onWindowUpdate(), EmitStrategy.onWindowClose()]) {
      const topology = slidingCount(SlidingWindows.ofTimeDifferenceAndGrace(10, 3), emit)
      const first = new TopologyTestDriver(topology)
      pipe(first, [
        ['a', 1],
        ['b', 4],
        ['a', 9],
        ['a', 16],
        ['b', 18],
        ['a', 31],
      ])
      const before = rows(first, 10)
      const changelog = first
        .createOutputTopic('test-app-sliding-changelog', Serdes.Buffer(), Serdes.Buffer())
        .readKeyValuesToList()
        .map(([key, value]) => ({ key, value }))
      const second = new TopologyTestDriver(topology, {
        changelogs: { 'test-app-sliding-changelog': changelog },
      })
      const more: Array<[string, number]> = [
        ['a', 12], // late by the restored stream time (12 + 10 < 31 - 3)
        ['b', 19],
        ['a', 29],
        ['a', 45],
        ['b', 60],
      ]
      pipe(first, more)
      pipe(second, more)
      const expected = rows(first, 10)
      expect(expected.length).toBeGreaterThan(0)
      expect(rows(second, 10)).toEqual(expected)
      const lateOf = (d: TopologyTestDriver) =>
        d.createOutputTopic('late', str, Serdes.Json<LateRecord<string>>()).readRecordsToList()
      expect(lateOf(second)).toEqual(lateOf(first))
      if (emit === 'on-window-close') {
        for (const row of before) expect(expected).not.toContainEqual(row)
      }
    }
  })

  it('takes Kafka retention (default and minimum 2 * timeDifference + grace) and no cache for emit final', () => {
    const topology = slidingCount(
      SlidingWindows.ofTimeDifferenceAndGrace(10, 5),
      EmitStrategy.onWindowClose(),
    )
    expect(topology.changelogTopicConfigs('app')).toEqual([
      {
        topic: 'app-sliding-changelog',
        store: 'sliding',
        kind: 'window',
        config: { 'cleanup.policy': 'compact' },
        windowSizeMs: 10,
        retentionMs: 25,
      },
    ])
    expect(topology.graph.stores.get('sliding')?.cachingEnabled).toBe(false)
    const onUpdate = slidingCount(SlidingWindows.ofTimeDifferenceAndGrace(10, 5))
    expect(onUpdate.graph.stores.get('sliding')?.cachingEnabled).toBe(true)

    const b = new StreamsBuilder()
    b.stream<string, string>('in', { keySerde: str, valueSerde: str })
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10, 5))
      .count(Materialized.as<string, number>('w').withRetention(24))
    let error: unknown
    try {
      b.build()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TopologyBuildError)
    const problems = (error as TopologyBuildError).problems
    expect(problems.map((p) => [p.code, p.subject])).toEqual([['INVALID_ARGUMENT', 'w']])
    expect(problems[0]?.message).toMatch(/at least 2 \* timeDifference \+ grace/)
  })

  it('a time difference of 0 (allowed, as in Kafka) counts records with equal timestamps', () => {
    const driver = new TopologyTestDriver(slidingCount(SlidingWindows.ofTimeDifferenceWithNoGrace(0)))
    pipe(driver, [
      ['a', 5],
      ['a', 5],
      ['a', 7],
    ])
    const final = new Map(rows(driver, 0).map((r) => [r[1], r]))
    expect([...final.values()]).toEqual([
      ['a', 5, 5, 2, 5],
      ['a', 7, 7, 1, 7],
    ])
  })

  it('reduce and aggregate take the same windows', () => {
    const b = new StreamsBuilder()
    const windowed = b
      .stream<string, number>('in', { keySerde: str, valueSerde: Serdes.Number() })
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10))
    windowed
      .reduce((x, y) => x + y, Materialized.as('sum'))
      .toStream()
      .to('sum', { valueSerde: Serdes.Number() })
    windowed
      .aggregate(
        () => '',
        (_k, v, acc) => `${acc}${v},`,
        Materialized.as<string, string>('list').withValueSerde(str),
      )
      .toStream()
      .to('list', { valueSerde: str })
    const driver = new TopologyTestDriver(b.build())
    const input = driver.createInputTopic('in', str, Serdes.Number())
    input.pipeInput('a', 1, 20)
    input.pipeInput('a', 2, 25)
    const keys = WindowedSerdes.timeWindowed(str, 10)
    const sums = driver.createOutputTopic('sum', keys, Serdes.Number()).readRecordsToList()
    expect(sums.map((r) => [r.key?.window.start, r.value])).toEqual([
      [10, 1],
      [21, 2],
      [15, 3],
    ])
    const lists = driver.createOutputTopic('list', keys, str).readRecordsToList()
    expect(lists.map((r) => [r.key?.window.start, r.value])).toEqual([
      [10, '1,'],
      [21, '2,'],
      [15, '1,2,'],
    ])
  })
})
