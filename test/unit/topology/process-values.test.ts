// processValues: a custom processor that keeps keys, so no repartition is needed after it, and that
// cannot change a key without saying so.
import { expect, it } from 'vitest'
import {
  type Processor,
  type ProcessorContext,
  Serdes,
  StreamRecord,
  StreamsBuilder,
  TopologyTestDriver,
} from '../../../topology/index.js'

const str = Serdes.String()

function doubling(changeKey: boolean): () => Processor<string, string, string, string> {
  return () => {
    let context: ProcessorContext<string, string>
    return {
      init: (c) => {
        context = c
      },
      process: (record) => {
        context.forward(record.withValue(`${record.value}!`))
        const key = changeKey ? `${record.key}-other` : record.key
        context.forward(new StreamRecord(key, `${record.value}?`, record.timestamp))
      },
    }
  }
}

it('keeps the key: a grouped count after it needs no repartition topic', () => {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('in', { keySerde: str, valueSerde: str })
    .processValues(doubling(false), { name: 'double' })
    .groupByKey()
    .count()
    .toStream()
    .to('out', { keySerde: str, valueSerde: Serdes.Long() })
  const topology = builder.build()
  expect(topology.repartitionTopics('app')).toEqual([])
  const driver = new TopologyTestDriver(topology)
  driver.createInputTopic('in', str, str).pipeInput('a', 'x', 1)
  // Both forwarded records counted (the cache emits the count once per commit).
  expect(driver.createOutputTopic('out', str, Serdes.Long()).readKeyValuesToList()).toEqual([['a', 2]])
})

it('fails a record whose processor forwards another key', () => {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('in', { keySerde: str, valueSerde: str })
    .processValues(doubling(true), { name: 'double' })
    .to('out', { keySerde: str, valueSerde: str })
  const driver = new TopologyTestDriver(builder.build())
  expect(() => driver.createInputTopic('in', str, str).pipeInput('a', 'x', 1)).toThrow(
    /processValues processor double forwarded key a-other for input key a/,
  )
})
