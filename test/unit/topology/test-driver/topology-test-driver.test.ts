// The test driver as users see it: input and output topics, wall-clock time, stores, commits.
import { describe, expect, it } from 'vitest'
import {
  type ProcessorContext,
  Serdes,
  StreamRecord,
  StreamsBuilder,
  TopologyTestDriver,
} from '../../../../topology/index.js'

const str = Serdes.String()
const num = Serdes.Number()

describe('TopologyTestDriver', () => {
  it('refuses an input topic no source reads', () => {
    const b = new StreamsBuilder()
    b.stream('in', { keySerde: str, valueSerde: num }).to('out')
    const driver = new TopologyTestDriver(b.build())
    expect(() => driver.createInputTopic('nope', str, num)).toThrow(/UNKNOWN_TOPIC: no source reads nope/)
    expect(() => driver.getKeyValueStore('nope')).toThrow(/UNKNOWN_STORE/)
  })

  it('auto-advances timestamps and reads records one by one or as a list', () => {
    const b = new StreamsBuilder()
    b.stream('in', { keySerde: str, valueSerde: num }).to('out')
    const driver = new TopologyTestDriver(b.build())
    const input = driver.createInputTopic('in', str, num, { startTimestamp: 100, autoAdvanceMs: 10 })
    input.pipeKeyValueList([
      ['a', 1],
      ['b', 2],
    ])
    input.pipeValueList([3])
    const out = driver.createOutputTopic('out', str, num)
    expect(out.getQueueSize()).toBe(3)
    expect(out.readKeyValue()).toEqual(['a', 1])
    expect(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['b', 2, 110],
      [null, 3, 120],
    ])
    expect(() => out.readRecord()).toThrow(/no record left/)
  })

  it('advances wall-clock time and fires wall-clock punctuators', () => {
    const b = new StreamsBuilder()
    b.stream<string, number>('in', { keySerde: str, valueSerde: num })
      .process<string, number>(() => ({
        init(ctx: ProcessorContext<string, number>) {
          ctx.schedule(1000, 'wall-clock-time', (ts) => ctx.forward(new StreamRecord('clock', ts, ts)))
        },
        process() {},
      }))
      .to('out', { keySerde: str, valueSerde: num })
    const driver = new TopologyTestDriver(b.build(), { initialWallClockTimeMs: 5000 })
    driver.advanceWallClockTime(999)
    driver.advanceWallClockTime(1)
    driver.advanceWallClockTime(2500)
    expect(driver.createOutputTopic('out', str, num).readValuesToList()).toEqual([6000, 8500])
  })

  it('close() closes every task', () => {
    const b = new StreamsBuilder()
    let closed = 0
    b.stream('in', { keySerde: str, valueSerde: num }).process(() => ({
      process() {},
      close: () => closed++,
    }))
    const driver = new TopologyTestDriver(b.build())
    driver.close()
    expect(closed).toBe(1)
  })
})
