// KTable: the table source (latest per key, tombstones), filter, mapValues and toStream.
import { describe, expect, it } from 'vitest'
import { Materialized, Serdes, StreamsBuilder, TopologyTestDriver } from '../../../topology/index.js'

const str = Serdes.String()
const num = Serdes.Number()

function driverFor(build: (b: StreamsBuilder) => void) {
  const b = new StreamsBuilder()
  build(b)
  const driver = new TopologyTestDriver(b.build())
  return {
    driver,
    input: driver.createInputTopic('t', str, num),
    out: driver.createOutputTopic('out', str, num),
  }
}

describe('KTable', () => {
  it('materializes the latest value per key; a tombstone deletes it and is forwarded', () => {
    const { driver, input, out } = driverFor((b) =>
      b
        .table('t', { keySerde: str, valueSerde: num }, Materialized.as('t-store'))
        .toStream()
        .to('out', { keySerde: str, valueSerde: num }),
    )
    input.pipeInput('a', 1)
    input.pipeInput('a', 2)
    input.pipeInput('a', null)
    input.pipeInput('b', null) // deleting an absent key forwards nothing
    expect(out.readKeyValuesToList()).toEqual([
      ['a', 1],
      ['a', 2],
      ['a', null],
    ])
    expect(driver.getKeyValueStore('t-store').get('a')).toBeUndefined()
  })

  it('filter turns a row that stops matching into a deletion downstream', () => {
    const { input, out } = driverFor((b) =>
      b
        .table<string, number>('t', { keySerde: str, valueSerde: num })
        .filter((_k, v) => v > 10)
        .toStream()
        .to('out', { keySerde: str, valueSerde: num }),
    )
    input.pipeInput('a', 5) // filtered on both sides: nothing
    input.pipeInput('a', 20)
    input.pipeInput('a', 7)
    expect(out.readKeyValuesToList()).toEqual([
      ['a', 20],
      ['a', null],
    ])
  })

  it('filterNot and mapValues map both sides of a change', () => {
    const { input, out } = driverFor((b) =>
      b
        .table<string, number>('t', { keySerde: str, valueSerde: num })
        .filterNot((_k, v) => v < 0)
        .mapValues((v, k) => v * 2 + k.length)
        .toStream()
        .to('out', { keySerde: str, valueSerde: num }),
    )
    input.pipeInput('a', 1)
    input.pipeInput('a', -1)
    expect(out.readKeyValuesToList()).toEqual([
      ['a', 3],
      ['a', null],
    ])
  })

  it('exposes the store name of a materialized table', () => {
    const b = new StreamsBuilder()
    expect(b.table('t', { keySerde: str, valueSerde: num }, Materialized.as('x')).queryableStoreName).toBe(
      'x',
    )
    expect(b.table('u', { keySerde: str, valueSerde: num }).queryableStoreName).toBe(
      'u-STATE-STORE-0000000003',
    )
  })
})
