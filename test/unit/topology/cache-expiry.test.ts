// An update that waits in the record cache is emitted at the next commit even when its window has
// expired from the store meanwhile (Kafka Streams' caching window store forwards before it writes to
// the store, which drops the expired window): a runtime that processes a whole fetch between commits
// can move stream time past a window's retention before the cache is flushed.
import { expect, it } from 'vitest'
import {
  Materialized,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  type Windowed,
  WindowedSerdes,
} from '../../../topology/index.js'

it('forwards cached updates of windows that expired before the flush', () => {
  const str = Serdes.String()
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('in', { keySerde: str, valueSerde: str })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
    .count(Materialized.as('counts'))
    .toStream()
    .to('out', { keySerde: WindowedSerdes.timeWindowed(str, 10), valueSerde: Serdes.Long() })
  const driver = new TopologyTestDriver(builder.build(), { autoCommit: false })
  const input = driver.createInputTopic('in', str, str)
  input.pipeInput('a', 'v', 0)
  input.pipeInput('b', 'v', 3)
  // Stream time 100: window [0, 10) is long past its retention (size + grace = 15) before any commit,
  // and the flush writes a's later window before b's early one.
  input.pipeInput('a', 'v', 100)
  driver.commit()
  const out = driver
    .createOutputTopic<Windowed<string>, number>('out', WindowedSerdes.timeWindowed(str, 10), Serdes.Long())
    .readRecordsToList()
    .map((r) => [r.key?.key, r.key?.window.start, r.value])
  expect(out).toEqual([
    ['a', 0, 1],
    ['a', 100, 1],
    ['b', 0, 1],
  ])
})
