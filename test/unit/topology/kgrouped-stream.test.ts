// count / reduce / aggregate: results, repartitioning, the cache's flush-at-commit semantics, and a
// property test against a naive reference on random inputs.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Materialized, Serdes, StreamsBuilder, TopologyTestDriver } from '../../../topology/index.js'

const str = Serdes.String()
const num = Serdes.Number()
const long = Serdes.Long()

function countTopology(materialized = Materialized.as<string, number>('counts')) {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .groupByKey()
    .count(materialized)
    .toStream()
    .to('out', { keySerde: str, valueSerde: long })
  return b.build()
}

describe('KGroupedStream', () => {
  it('count emits the running count per key and keeps it in the store', () => {
    const driver = new TopologyTestDriver(countTopology())
    const input = driver.createInputTopic('in', str, num)
    for (const k of ['a', 'b', 'a']) input.pipeInput(k, 1)
    expect(driver.createOutputTopic('out', str, long).readKeyValuesToList()).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
    ])
    expect(driver.getKeyValueStore<string, number>('counts').get('a')).toBe(2)
  })

  it('reduce folds values; aggregate starts from the initializer', () => {
    const b = new StreamsBuilder()
    const grouped = b.stream<string, number>('in', { keySerde: str, valueSerde: num }).groupByKey()
    grouped
      .reduce((a, v) => Math.max(a, v))
      .toStream()
      .to('max', { valueSerde: num })
    grouped
      .aggregate(
        () => '',
        (_k, v, agg) => `${agg}${v}`,
        Materialized.as<string, string>('concat').withValueSerde(str),
      )
      .toStream()
      .to('concat', { valueSerde: str })
    const driver = new TopologyTestDriver(b.build())
    const input = driver.createInputTopic('in', str, num)
    for (const v of [3, 1, 5]) input.pipeInput('k', v)
    expect(driver.createOutputTopic('max', str, num).readValuesToList()).toEqual([3, 3, 5])
    expect(driver.createOutputTopic('concat', str, str).readValuesToList()).toEqual(['3', '31', '315'])
  })

  it('skips records with a null key or value', () => {
    const driver = new TopologyTestDriver(countTopology())
    const input = driver.createInputTopic('in', str, num)
    input.pipeInput(null, 1)
    input.pipeInput('a', null)
    expect(driver.createOutputTopic('out', str, long).isEmpty()).toBe(true)
  })

  it('groupBy re-keys through <applicationId>-<name>-repartition', () => {
    const b = new StreamsBuilder()
    b.stream<string, number>('in', { keySerde: str, valueSerde: num })
      .groupBy((_k, v) => (v % 2 === 0 ? 'even' : 'odd'), { name: 'parity', keySerde: str, valueSerde: num })
      .count()
      .toStream()
      .to('out', { keySerde: str, valueSerde: long })
    const driver = new TopologyTestDriver(b.build(), { applicationId: 'app' })
    const input = driver.createInputTopic('in', str, num)
    for (const v of [1, 2, 3]) input.pipeInput(`k${v}`, v)
    expect(driver.createOutputTopic('app-parity-repartition', str, num).readKeyValuesToList()).toEqual([
      ['odd', 1],
      ['even', 2],
      ['odd', 3],
    ])
    expect(driver.createOutputTopic('out', str, long).readKeyValuesToList()).toEqual([
      ['odd', 1],
      ['even', 1],
      ['odd', 2],
    ])
  })

  describe('record cache', () => {
    it('100 updates of a key in one commit interval cost one changelog record and one downstream update', () => {
      const driver = new TopologyTestDriver(countTopology(), { autoCommit: false, applicationId: 'app' })
      const input = driver.createInputTopic('in', str, num)
      for (let i = 0; i < 100; i++) input.pipeInput('a', i, i)
      const out = driver.createOutputTopic('out', str, long)
      const changelog = driver.createOutputTopic('app-counts-changelog', str, long)
      expect(out.isEmpty()).toBe(true)
      expect(driver.getKeyValueStore<string, number>('counts').get('a')).toBe(100)
      driver.commit()
      expect(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([['a', 100, 99]])
      expect(changelog.readKeyValuesToList()).toEqual([['a', 100]])
    })

    it('withCachingDisabled() emits and logs every update', () => {
      const driver = new TopologyTestDriver(
        countTopology(Materialized.as<string, number>('counts').withCachingDisabled()),
        {
          autoCommit: false,
          applicationId: 'app',
        },
      )
      const input = driver.createInputTopic('in', str, num)
      for (let i = 0; i < 100; i++) input.pipeInput('a', i)
      expect(driver.createOutputTopic('out', str, long).getQueueSize()).toBe(100)
      expect(driver.createOutputTopic('app-counts-changelog', str, long).getQueueSize()).toBe(100)
    })

    it('flushes early when the byte budget is exceeded, oldest dirty entries first', () => {
      const driver = new TopologyTestDriver(countTopology(), { autoCommit: false, cacheMaxBytes: 200 })
      const input = driver.createInputTopic('in', str, num)
      for (const k of ['a', 'b', 'c', 'd']) input.pipeInput(k, 1)
      const early = driver.createOutputTopic('out', str, long).readKeyValuesToList()
      expect(early.length).toBeGreaterThan(0)
      expect(early[0]).toEqual(['a', 1])
      driver.commit()
      const all = [...early, ...driver.createOutputTopic('out', str, long).readKeyValuesToList()]
      expect(all.map(([k]) => k).sort()).toEqual(['a', 'b', 'c', 'd'])
    })
  })

  describe('against a naive reference (property)', () => {
    const records = fc.array(
      fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: -50, max: 50 })),
      {
        maxLength: 60,
      },
    )

    it('count, reduce (sum) and aggregate (list) end where a plain loop does, cached or not', () => {
      fc.assert(
        fc.property(records, fc.boolean(), fc.integer({ min: 1, max: 10 }), (input, caching, commitEvery) => {
          const b = new StreamsBuilder()
          const grouped = b.stream<string, number>('in', { keySerde: str, valueSerde: num }).groupByKey()
          const mat = <V>(name: string) => {
            const m = Materialized.as<string, V>(name)
            return caching ? m : m.withCachingDisabled()
          }
          grouped.count(mat('count')).toStream().to('count', { valueSerde: long })
          grouped
            .reduce((a, v) => a + v, mat('sum'))
            .toStream()
            .to('sum', { valueSerde: num })
          grouped
            .aggregate(
              () => [] as number[],
              (_k, v, agg) => [...agg, v],
              mat<number[]>('list').withValueSerde(Serdes.Json()),
            )
            .toStream()
            .to('list', { valueSerde: Serdes.Json<number[]>() })
          const driver = new TopologyTestDriver(b.build(), { autoCommit: false })
          const topic = driver.createInputTopic('in', str, num)
          const ref = {
            count: new Map<string, number>(),
            sum: new Map<string, number>(),
            list: new Map<string, number[]>(),
          }
          input.forEach(([k, v], i) => {
            topic.pipeInput(k, v, i)
            ref.count.set(k, (ref.count.get(k) ?? 0) + 1)
            ref.sum.set(k, (ref.sum.get(k) ?? 0) + v)
            ref.list.set(k, [...(ref.list.get(k) ?? []), v])
            if (i % commitEvery === 0) driver.commit()
          })
          driver.commit()
          expect(driver.createOutputTopic('count', str, long).readKeyValuesToMap()).toEqual(ref.count)
          expect(driver.createOutputTopic('sum', str, num).readKeyValuesToMap()).toEqual(ref.sum)
          expect(driver.createOutputTopic('list', str, Serdes.Json<number[]>()).readKeyValuesToMap()).toEqual(
            ref.list,
          )
          expect(new Map(driver.getKeyValueStore<string, number>('count').all())).toEqual(ref.count)
        }),
        { numRuns: 150 },
      )
    })
  })
})
