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

  it('toChangeStream gives each update with the value it replaced; through a cache, one per key and commit', () => {
    const changes = (autoCommit: boolean, materialized: Materialized<string, number>) => {
      const b = new StreamsBuilder()
      b.table('t', { keySerde: str, valueSerde: num }, materialized)
        .toChangeStream()
        .map((key, change): [string, string] => [key, `${change.oldValue}->${change.newValue}`])
        .to('out', { keySerde: str, valueSerde: str })
      const driver = new TopologyTestDriver(b.build(), { autoCommit })
      const input = driver.createInputTopic('t', str, num)
      const out = driver.createOutputTopic('out', str, str)
      input.pipeInput('a', 1)
      input.pipeInput('a', 2)
      input.pipeInput('b', 5)
      input.pipeInput('a', null)
      driver.commit()
      return out.readKeyValuesToList()
    }
    expect(changes(true, Materialized.as<string, number>('uncached').withCachingDisabled())).toEqual([
      ['a', 'null->1'],
      ['a', '1->2'],
      ['b', 'null->5'],
      ['a', '2->null'],
    ])
    // One commit interval: a's changes collapse into none (absent before, deleted at the end).
    expect(changes(false, Materialized.as<string, number>('cached'))).toEqual([['b', 'null->5']])
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

  it('filter and mapValues with a Materialized keep their own queryable store', () => {
    const { driver, input, out } = driverFor((b) =>
      b
        .table('t', { keySerde: str, valueSerde: num })
        .filter((_k, v) => v > 1, Materialized.as('big'))
        .mapValues(
          (v) => v * 10,
          { name: 'times-ten' },
          Materialized.as<string, number>('tens').withValueSerde(num),
        )
        .toStream()
        .to('out', { keySerde: str, valueSerde: num }),
    )
    input.pipeInput('a', 1)
    input.pipeInput('b', 2)
    input.pipeInput('b', 3)
    input.pipeInput('b', 0) // leaves the filter: a deletion in both stores
    input.pipeInput('c', 5)
    expect(out.readKeyValuesToList()).toEqual([
      ['b', 20],
      ['b', 30],
      ['b', null],
      ['c', 50],
    ])
    expect(driver.getKeyValueStore('big').get('c')).toBe(5)
    expect(driver.getKeyValueStore('big').get('b')).toBeUndefined()
    expect(driver.getKeyValueStore('tens').get('c')).toBe(50)
    expect(driver.producedTopicNames()).toContain('test-app-tens-changelog')
  })

  it('a materialized filter deduplicates updates through its cache between commits', () => {
    const b = new StreamsBuilder()
    b.table(
      't',
      { keySerde: str, valueSerde: num },
      Materialized.with<string, number>().withCachingDisabled(),
    )
      .filter((_k, v) => v > 0, Materialized.as('positive'))
      .toStream()
      .to('out', { keySerde: str, valueSerde: num })
    const driver = new TopologyTestDriver(b.build(), { autoCommit: false })
    const input = driver.createInputTopic('t', str, num)
    for (let i = 1; i <= 5; i++) input.pipeInput('a', i)
    driver.commit()
    expect(driver.createOutputTopic('out', str, num).readKeyValuesToList()).toEqual([['a', 5]])
  })
})

describe('KStream.toTable()', () => {
  it('keeps the latest value per key in a store; a null value deletes', () => {
    const b = new StreamsBuilder()
    b.stream<string, number>('t', { keySerde: str, valueSerde: num })
      .toTable(Materialized.as('latest'))
      .toStream()
      .to('out', { keySerde: str, valueSerde: num })
    const driver = new TopologyTestDriver(b.build())
    const input = driver.createInputTopic('t', str, num)
    input.pipeInput('a', 1)
    input.pipeInput('a', 2)
    input.pipeInput('b', 3)
    input.pipeInput('b', null)
    expect(driver.createOutputTopic('out', str, num).readKeyValuesToList()).toEqual([
      ['a', 1],
      ['a', 2],
      ['b', 3],
      ['b', null],
    ])
    expect(driver.getKeyValueStore('latest').get('a')).toBe(2)
    expect(driver.getKeyValueStore('latest').get('b')).toBeUndefined()
  })

  it('repartitions after a key change, and can be aggregated as a table', () => {
    const b = new StreamsBuilder()
    b.stream<string, number>('t', { keySerde: str, valueSerde: num })
      .selectKey((k) => k.toUpperCase())
      .toTable({ name: 'upper' }, Materialized.as<string, number>('by-upper').withKeySerde(str))
      .toStream()
      .to('out', { keySerde: str, valueSerde: num })
    const topology = b.build()
    // The name names the repartition topic and the processor that materializes the table.
    expect(topology.describe().toString()).toContain('Processor: upper (stores: [by-upper])')
    const driver = new TopologyTestDriver(topology)
    driver.createInputTopic('t', str, num).pipeInput('a', 1)
    expect(driver.producedTopicNames()).toContain('test-app-upper-repartition')
    expect(driver.getKeyValueStore('by-upper').get('A')).toBe(1)
    expect(driver.createOutputTopic('out', str, num).readKeyValuesToList()).toEqual([['A', 1]])
  })
})
