// Windowed aggregations through the DSL and the TopologyTestDriver: tumbling, hopping and session counts,
// session merging with its tombstones, emit-final emitting each window once, the late-record output,
// restore from the changelog (emit-final included), retention validation, describe() and changelog kinds.
import { describe, expect, it } from 'vitest'
import {
  EmitStrategy,
  type LateRecord,
  Materialized,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
  type Topology,
  TopologyBuildError,
  TopologyTestDriver,
  type Windowed,
  WindowedSerdes,
} from '../../../topology/index.js'

const str = Serdes.String()
const long = Serdes.Long()

type Row = [key: string, start: number, end: number, value: number | null, timestamp: number]

function rows(driver: TopologyTestDriver, keySerde = WindowedSerdes.timeWindowed(str, 5)): Row[] {
  return driver
    .createOutputTopic<Windowed<string>, number>('out', keySerde, long)
    .readRecordsToList()
    .map((r) => [
      r.key?.key as string,
      r.key?.window.start as number,
      r.key?.window.end as number,
      r.value,
      r.timestamp,
    ])
}

function timeCount(windows: TimeWindows, emit = EmitStrategy.onWindowUpdate(), name = 'counts'): Topology {
  const b = new StreamsBuilder()
  b.stream<string, string>('in', { keySerde: str, valueSerde: str })
    .groupByKey()
    .windowedBy(windows)
    .emitStrategy(emit)
    .count(Materialized.as(name))
    .toStream()
    .to('out')
  return b.build()
}

function pipe(driver: TopologyTestDriver, records: Array<[string, number]>): void {
  const input = driver.createInputTopic('in', str, str)
  for (const [key, timestamp] of records) input.pipeInput(key, 'v', timestamp)
}

describe('windowed aggregations (DSL)', () => {
  it('tumbling count: one running count per key and window, with the latest record timestamp', () => {
    // Kafka Streams' docs example shape: 5 ms tumbling windows, updates emitted per record.
    const driver = new TopologyTestDriver(timeCount(TimeWindows.ofSizeWithNoGrace(5)))
    pipe(driver, [
      ['alice', 0],
      ['alice', 2],
      ['bob', 3],
      ['alice', 7],
      ['bob', 4],
    ])
    expect(rows(driver)).toEqual([
      ['alice', 0, 5, 1, 0],
      ['alice', 0, 5, 2, 2],
      ['bob', 0, 5, 1, 3],
      ['alice', 5, 10, 1, 7],
      // bob@4 is late: its only window [0,5) closed when stream time reached 7.
    ])
    // [0,5) expired from the store (retention size + grace) once [5,10) was written.
    expect(driver.getWindowStore<string, { value: number }>('counts').fetch('alice', 5)?.value).toBe(1)
  })

  it('hopping count: each record counts in every window that contains it', () => {
    const windows = TimeWindows.ofSizeAndGrace(10, 100).advanceBy(5)
    const driver = new TopologyTestDriver(timeCount(windows))
    pipe(driver, [
      ['a', 7],
      ['a', 12],
    ])
    expect(rows(driver, WindowedSerdes.timeWindowed(str, 10))).toEqual([
      ['a', 0, 10, 1, 7],
      ['a', 5, 15, 1, 7],
      ['a', 5, 15, 2, 12],
      ['a', 10, 20, 1, 12],
    ])
  })

  it('session count: a record bridging two sessions merges them and tombstones both', () => {
    const b = new StreamsBuilder()
    b.stream<string, string>('in', { keySerde: str, valueSerde: str })
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 10))
      .count(Materialized.as('sessions'))
      .toStream()
      .to('out')
    const driver = new TopologyTestDriver(b.build())
    pipe(driver, [
      ['a', 0],
      ['a', 10],
      ['a', 5],
    ])
    const out = rows(driver, WindowedSerdes.sessionWindowed(str))
    expect(out.slice(0, 2)).toEqual([
      ['a', 0, 0, 1, 0],
      ['a', 10, 10, 1, 10],
    ])
    // The merge: tombstones for [0,0] and [10,10], then the merged session [0,10] with 3 records.
    expect(out.slice(2, 4).map((r) => [r[1], r[2], r[3]])).toEqual(
      expect.arrayContaining([
        [0, 0, null],
        [10, 10, null],
      ]),
    )
    expect(out.slice(4)).toEqual([['a', 0, 10, 3, 10]])
    expect(driver.getSessionStore<string, number>('sessions').fetchSession('a', 0, 10)).toBe(3)
  })

  it('emit final: each window once, after it closes, never again', () => {
    const driver = new TopologyTestDriver(
      timeCount(TimeWindows.ofSizeAndGrace(10, 2), EmitStrategy.onWindowClose()),
    )
    pipe(driver, [
      ['a', 1],
      ['a', 5],
      ['b', 8],
      ['a', 11],
    ])
    expect(rows(driver, WindowedSerdes.timeWindowed(str, 10))).toEqual([])
    pipe(driver, [['a', 12]]) // stream time 12 = end 10 + grace 2: [0,10) closes
    expect(rows(driver, WindowedSerdes.timeWindowed(str, 10))).toEqual([
      ['a', 0, 10, 2, 5],
      ['b', 0, 10, 1, 8],
    ])
    pipe(driver, [
      ['a', 13],
      ['b', 30],
      ['a', 31],
    ])
    expect(rows(driver, WindowedSerdes.timeWindowed(str, 10))).toEqual([['a', 10, 20, 3, 13]])
  })

  it('late records come out of lateRecords() with the reason; the aggregate ignores them', () => {
    const b = new StreamsBuilder()
    const counts = b
      .stream<string, string>('in', { keySerde: str, valueSerde: str })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
      .count()
    counts.toStream().to('out')
    counts.lateRecords().to('late', { valueSerde: Serdes.Json<LateRecord<string>>() })
    expect(counts.lateRecords()).toBe(counts.lateRecords())
    const driver = new TopologyTestDriver(b.build())
    pipe(driver, [
      ['a', 15],
      ['a', 3],
    ])
    expect(rows(driver, WindowedSerdes.timeWindowed(str, 10))).toEqual([['a', 10, 20, 1, 15]])
    const late = driver.createOutputTopic('late', str, Serdes.Json<LateRecord<string>>()).readRecordsToList()
    expect(late).toHaveLength(1)
    expect(late[0]?.key).toBe('a')
    expect(late[0]?.timestamp).toBe(3)
    expect(late[0]?.value).toEqual({
      value: 'v',
      reason: {
        rule: 'time-window-closed',
        timestamp: 3,
        streamTime: 15,
        closeTime: 15,
        window: { start: 0, end: 10 },
      },
    })
    // The same record as read, for the runtime's late-record topic.
    const letters = driver.readLateRecords()
    expect(letters.map((l) => [l.record.key?.toString(), l.record.offset, l.late])).toEqual([
      [
        'a',
        1,
        {
          processor: expect.any(String),
          store: expect.any(String),
          rule: 'time-window-closed',
          streamTime: 15,
          closeTime: 15,
          window: { start: 0, end: 10 },
        },
      ],
    ])
    expect(driver.readLateRecords()).toEqual([])
  })

  it('a driver restored from the changelog continues with the same results (emit final included)', () => {
    for (const emit of [EmitStrategy.onWindowUpdate(), EmitStrategy.onWindowClose()]) {
      const topology = timeCount(TimeWindows.ofSizeAndGrace(10, 2).advanceBy(5), emit)
      const first = new TopologyTestDriver(topology)
      pipe(first, [
        ['a', 1],
        ['b', 4],
        ['a', 9],
        ['a', 16],
        ['b', 18],
      ])
      const before = rows(first, WindowedSerdes.timeWindowed(str, 10))
      const changelog = first
        .createOutputTopic('test-app-counts-changelog', Serdes.Buffer(), Serdes.Buffer())
        .readKeyValuesToList()
        .map(([key, value]) => ({ key, value }))
      const second = new TopologyTestDriver(topology, {
        changelogs: { 'test-app-counts-changelog': changelog },
      })
      const more: Array<[string, number]> = [
        ['a', 12],
        ['b', 19],
        ['a', 25],
        ['b', 40],
      ]
      pipe(first, more)
      pipe(second, more)
      const expected = rows(first, WindowedSerdes.timeWindowed(str, 10))
      expect(expected.length).toBeGreaterThan(0)
      expect(rows(second, WindowedSerdes.timeWindowed(str, 10))).toEqual(expected)
      if (emit === 'on-window-close') {
        // What the first run emitted before the move is not emitted again.
        for (const row of before) expect(expected).not.toContainEqual(row)
      }
    }
  })

  it('refuses a retention shorter than size + grace (gap + grace for sessions)', () => {
    const b = new StreamsBuilder()
    const grouped = b.stream<string, string>('in', { keySerde: str, valueSerde: str }).groupByKey()
    grouped
      .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
      .count(Materialized.as<string, number>('w').withRetention(14))
    grouped
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5))
      .count(Materialized.as<string, number>('s').withRetention(14))
    let error: unknown
    try {
      b.build()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TopologyBuildError)
    const problems = (error as TopologyBuildError).problems
    expect(problems.map((p) => [p.code, p.subject])).toEqual([
      ['INVALID_ARGUMENT', 'w'],
      ['INVALID_ARGUMENT', 's'],
    ])
    expect(problems[0]?.message).toMatch(/at least its window size plus grace/)
    expect(() => Materialized.as('x').withRetention(-1)).toThrow(/retention/)
  })

  it('describes the windowed aggregate and lists its changelog as a compacted window store', () => {
    const topology = timeCount(TimeWindows.ofSizeWithNoGrace(5))
    expect(topology.describe().toString()).toBe(`Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [in])
      --> KSTREAM-AGGREGATE-0000000001
    Processor: KSTREAM-AGGREGATE-0000000001 (stores: [counts])
      --> KTABLE-TOSTREAM-0000000002
      <-- KSTREAM-SOURCE-0000000000
    Processor: KTABLE-TOSTREAM-0000000002 (stores: [])
      --> KSTREAM-SINK-0000000003
      <-- KSTREAM-AGGREGATE-0000000001
    Sink: KSTREAM-SINK-0000000003 (topic: out)
      <-- KTABLE-TOSTREAM-0000000002

`)
    expect(topology.changelogTopicConfigs('app')).toEqual([
      {
        topic: 'app-counts-changelog',
        store: 'counts',
        kind: 'window',
        config: { 'cleanup.policy': 'compact' },
        windowSizeMs: 5,
        retentionMs: 5,
      },
    ])
    expect(topology.changelogTopics('app')).toEqual(['app-counts-changelog'])
  })
})
