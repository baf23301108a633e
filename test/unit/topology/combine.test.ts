// KStream.combine: records folded per key (and slice) until the task commits, then one record each. A
// windowed aggregate fed through combine() and a repartition must end where the same aggregate fed with
// every record ends, whenever the commits fall.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type LateRecord,
  Materialized,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  type Topology,
  TopologyError,
  TopologyTestDriver,
} from '../../../topology/index.js'

const str = Serdes.String()
const num = Serdes.Number()
const sum = (_key: string, value: number, total: number) => total + value

/** in -> combine (sum) -> 'combined'. */
function combined(options: { sliceMs?: number; maxPending?: number } = {}): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .combine(() => 0, sum, { name: 'sum-held', ...options })
    .to('combined', { valueSerde: num })
  return b.build()
}

describe('KStream.combine', () => {
  it('holds records until the commit, then sends one record per key in timestamp order: the fold, the largest timestamp, the last headers', () => {
    const driver = new TopologyTestDriver(combined(), { autoCommit: false })
    const input = driver.createInputTopic('in', str, num)
    const out = driver.createOutputTopic('combined', str, num)
    input.pipeInput('a', 1, 10, new Map([['h', Buffer.from('first')]]))
    input.pipeInput('b', 5, 22)
    input.pipeInput('a', 2, 25, new Map([['h', Buffer.from('second')]]))
    input.pipeInput('a', 4, 20, new Map([['h', Buffer.from('last')]]))
    expect(out.isEmpty()).toBe(true)
    driver.commit()
    const records = out.readRecordsToList()
    expect(records.map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['b', 5, 22],
      ['a', 7, 25],
    ])
    expect(records[1]?.headers.get('h')?.toString()).toBe('last')
    // Nothing is held across a commit: the next fold starts from the initializer.
    input.pipeInput('a', 1, 40)
    driver.commit()
    expect(out.readKeyValuesToList()).toEqual([['a', 1]])
    driver.close()
  })

  it('with the default commit after each record, passes each record on folded alone', () => {
    const driver = new TopologyTestDriver(combined())
    const input = driver.createInputTopic('in', str, num)
    input.pipeInput('a', 1, 10)
    input.pipeInput('a', 2, 11)
    expect(driver.createOutputTopic('combined', str, num).readKeyValuesToList()).toEqual([
      ['a', 1],
      ['a', 2],
    ])
    driver.close()
  })

  it('keeps the slices of event time apart', () => {
    const driver = new TopologyTestDriver(combined({ sliceMs: 10 }), { autoCommit: false })
    const input = driver.createInputTopic('in', str, num)
    for (const [value, at] of [
      [1, 3],
      [2, 12],
      [4, 9],
      [8, 19],
      [16, 20],
    ] as const)
      input.pipeInput('a', value, at)
    driver.commit()
    const records = driver.createOutputTopic('combined', str, num).readRecordsToList()
    expect(records.map((r) => [r.value, r.timestamp])).toEqual([
      [5, 9],
      [10, 19],
      [16, 20],
    ])
    driver.close()
  })

  it('sends the first held value on at once past maxPending', () => {
    const driver = new TopologyTestDriver(combined({ maxPending: 2 }), { autoCommit: false })
    const input = driver.createInputTopic('in', str, num)
    const out = driver.createOutputTopic('combined', str, num)
    input.pipeInput('a', 1, 1)
    input.pipeInput('b', 1, 2)
    input.pipeInput('a', 1, 3)
    expect(out.isEmpty()).toBe(true)
    input.pipeInput('c', 1, 4)
    expect(out.readKeyValuesToList()).toEqual([['a', 2]])
    driver.commit()
    expect(out.readKeyValuesToList()).toEqual([
      ['b', 1],
      ['c', 1],
    ])
    driver.close()
  })

  it('judges a fold late as one record when stream time had passed its window before the interval', () => {
    const b = new StreamsBuilder()
    const sums = b
      .stream<string, number>('in', { keySerde: str, valueSerde: num })
      .combine(() => 0, sum, { sliceMs: 10 })
      .groupByKey({ name: 'by-key', keySerde: str, valueSerde: num })
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
      .aggregate(() => 0, sum, Materialized.with(str, num))
    sums.lateRecords().to('late', { valueSerde: Serdes.Json<LateRecord<number>>() })
    const driver = new TopologyTestDriver(b.build(), { autoCommit: false })
    const input = driver.createInputTopic('in', str, num)
    input.pipeInput('b', 1, 50)
    driver.commit()
    input.pipeInput('a', 2, 3)
    input.pipeInput('a', 4, 4)
    driver.commit()
    const late = driver.createOutputTopic('late', str, Serdes.Json<LateRecord<number>>()).readRecordsToList()
    expect(late.map((r) => [r.key, r.value?.value, r.timestamp])).toEqual([['a', 6, 4]])
    driver.close()
  })

  it('refuses a slice or a bound that is not a positive whole number', () => {
    const stream = new StreamsBuilder().stream<string, number>('in', { keySerde: str, valueSerde: num })
    for (const options of [{ sliceMs: 0 }, { sliceMs: 1.5 }, { maxPending: 0 }, { maxPending: Number.NaN }]) {
      expect(() => stream.combine(() => 0, sum, options)).toThrow(TopologyError)
    }
    expect(() => stream.combine(() => 0, sum, { sliceMs: -1 })).toThrow(/sliceMs must be a whole number/)
  })

  it('through a repartition into tumbling and hopping sums, ends where the same sums of every record end', () => {
    const windowings = [
      TimeWindows.ofSizeAndGrace(20, 15),
      TimeWindows.ofSizeAndGrace(40, 15).advanceBy(10),
      TimeWindows.ofSizeAndGrace(30, 15).advanceBy(20),
    ]
    // Slices: the greatest common divisor of size and advance.
    const slices = [20, 10, 10]
    /** in -> re-key -> [combine] -> repartition -> windowed sum -> 'sums' as "key@start" -> total. */
    const topology = (w: number, combine: boolean): Topology => {
      const b = new StreamsBuilder()
      const rekeyed = b
        .stream<string, number>('in', { keySerde: str, valueSerde: num })
        .selectKey((key) => key.slice(0, 1))
      const folded = combine
        ? rekeyed.combine(() => 0, sum, { name: 'fold', sliceMs: slices[w] as number })
        : rekeyed
      folded
        .groupByKey({ name: 'by-letter', keySerde: str, valueSerde: num })
        .windowedBy(windowings[w] as TimeWindows)
        .aggregate(() => 0, sum, Materialized.with(str, num))
        .toStream()
        .map((key, total): readonly [string, number] => [`${key.key}@${key.window.start}`, total ?? 0])
        .to('sums', { keySerde: str, valueSerde: num })
      return b.build()
    }
    const records = fc.array(
      fc.tuple(
        fc.constantFrom('a1', 'a2', 'b1', 'c1'),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: -12, max: 25 }),
      ),
      { maxLength: 60 },
    )
    fc.assert(
      fc.property(
        records,
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 12 }),
        (input, w, every) => {
          const finals = (combine: boolean) => {
            const driver = new TopologyTestDriver(topology(w, combine), { autoCommit: false })
            const topic = driver.createInputTopic('in', str, num)
            // A step forward moves stream time on; a step back is a record at most 12 behind it,
            // inside the grace of 15, so no record is late (a fold is judged late as one record).
            let streamTime = 100
            input.forEach(([key, value, step], i) => {
              if (step >= 0) streamTime += step
              topic.pipeInput(key, value, streamTime + Math.min(0, step))
              if (i % every === 0) driver.commit()
            })
            driver.commit()
            const result = driver.createOutputTopic('sums', str, num).readKeyValuesToMap()
            driver.close()
            return result
          }
          expect(finals(true)).toEqual(finals(false))
        },
      ),
      { numRuns: 200 },
    )
  })
})
