// KStream.join/leftJoin(KTable): pinned against the KStream-KTable join table of Kafka Streams' docs
// (docs/streams/developer-guide/dsl-api.html, "KStream-KTable Join"; the inputs of the Kafka wiki page
// "Kafka Streams Join Semantics"), the null-key rule of KIP-962 (Kafka >= 3.7), a repartition after a key
// change, co-partitioning, describe(), and a property against a naive reference.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type EngineMetrics,
  type KStream,
  type KTable,
  Materialized,
  StreamsBuilder,
  TopologyTestDriver,
} from '../../../topology/index.js'
import { joinTopics, runDocsTable, show, str } from './join-fixtures.js'

type JoinKind = 'join' | 'leftJoin'

function joinDriver(kind: JoinKind, metrics?: EngineMetrics) {
  const b = new StreamsBuilder()
  const stream = b.stream<string, string>('left', { keySerde: str, valueSerde: str })
  const table = b.table<string, string>('right', { keySerde: str, valueSerde: str })
  const joined =
    kind === 'join' ? stream.join(table, (v, t) => show(v, t)) : stream.leftJoin(table, (v, t) => show(v, t))
  joined.to('out', { keySerde: str, valueSerde: str })
  const driver = new TopologyTestDriver(b.build(), metrics === undefined ? {} : { metrics })
  return joinTopics(driver)
}

function docsTable(kind: JoinKind): [number, string | null][] {
  return runDocsTable(joinDriver(kind))
}

describe('KStream-KTable join', () => {
  it('inner join: the docs table (only stream records with a table value emit)', () => {
    expect(docsTable('join')).toEqual([
      [5, '[B, a]'],
      [15, '[D, d]'],
    ])
  })

  it('left join: the docs table (every non-null stream record emits, null when no table value)', () => {
    expect(docsTable('leftJoin')).toEqual([
      [3, '[A, null]'],
      [5, '[B, a]'],
      [9, '[C, null]'],
      [15, '[D, d]'],
    ])
  })

  it('table updates never emit, the lookup sees the table as of the stream record', () => {
    const { left, right, out } = joinDriver('join')
    right.pipeInput('k', 'x', 1)
    right.pipeInput('k', 'y', 2)
    left.pipeInput('k', 'A', 3)
    right.pipeInput('k', 'z', 4)
    left.pipeInput('other', 'B', 5)
    expect(out.readKeyValuesToList()).toEqual([['k', '[A, y]']])
  })

  it('null key: dropped by the inner join (counted), joined with null by the left join (KIP-962)', () => {
    const dropped: string[] = []
    const metrics: EngineMetrics = {
      enabled: false,
      storeOperation: () => {},
      recordsProcessed: () => {},
      droppedRecord: (_task, processor, reason) => dropped.push(`${processor}:${reason}`),
    }
    const inner = joinDriver('join', metrics)
    inner.right.pipeInput('k', 'a', 1)
    inner.left.pipeInput(null, 'A', 2)
    inner.left.pipeInput('k', null, 3)
    expect(inner.out.readKeyValuesToList()).toEqual([])
    expect(dropped).toEqual(['KSTREAM-JOIN-0000000004:null-key', 'KSTREAM-JOIN-0000000004:null-value'])

    const left = joinDriver('leftJoin')
    left.left.pipeInput(null, 'A', 1)
    left.left.pipeInput('k', null, 2)
    expect(left.out.readKeyValuesToList()).toEqual([[null, '[A, null]']])
  })

  it('reads a filtered and mapped table without a store of its own through its parent', () => {
    const b = new StreamsBuilder()
    const table = b
      .table<string, string>('right', { keySerde: str, valueSerde: str }, Materialized.as('right-store'))
      .filter((_k, v) => v !== 'hidden')
      .mapValues((v) => v.toUpperCase())
    b.stream<string, string>('left', { keySerde: str, valueSerde: str })
      .leftJoin(table, (v, t) => show(v, t))
      .to('out', { keySerde: str, valueSerde: str })
    const topology = b.build()
    // The join processor is connected to the source table's store, so both share a sub-topology.
    expect(topology.describe().subtopologies).toHaveLength(1)
    expect(topology.describe().toString()).toContain(
      'Processor: KSTREAM-LEFTJOIN-0000000005 (stores: [right-store])',
    )
    const driver = new TopologyTestDriver(topology)
    const right = driver.createInputTopic('right', str, str)
    const left = driver.createInputTopic('left', str, str)
    const out = driver.createOutputTopic('out', str, str)
    right.pipeInput('a', 'x')
    right.pipeInput('b', 'hidden')
    left.pipeInput('a', '1')
    left.pipeInput('b', '2')
    expect(out.readKeyValuesToList()).toEqual([
      ['a', '[1, X]'],
      ['b', '[2, null]'],
    ])
  })

  it('repartitions a re-keyed stream before the join and declares co-partitioned topics', () => {
    const b = new StreamsBuilder()
    const table = b.table<string, string>('agents', { keySerde: str, valueSerde: str })
    b.stream<string, string>('events', { keySerde: str, valueSerde: str })
      .selectKey((_k, v) => v.split(':')[0] as string)
      .join(table, (v, t) => show(v, t), { name: 'enrich' })
      .to('out', { keySerde: str, valueSerde: str })
    const topology = b.build()
    expect(topology.repartitionTopics('app')).toEqual(['app-enrich-left-repartition'])
    expect(topology.copartitionGroups()).toEqual([['agents', 'enrich-left-repartition']])
    expect(topology.copartitionGroups('app')).toEqual([['agents', 'app-enrich-left-repartition']])
    const text = topology.describe().toString()
    expect(text).toContain('Sink: enrich-left-repartition-sink (topic: enrich-left-repartition)')
    expect(text).toContain('Processor: enrich (stores: [agents-STATE-STORE-0000000001])')

    const driver = new TopologyTestDriver(topology)
    driver.createInputTopic('agents', str, str).pipeInput('ada', 'team-1')
    driver.createInputTopic('events', str, str).pipeInput('e1', 'ada:login')
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([
      ['ada', '[ada:login, team-1]'],
    ])
  })

  it('co-partitions the stream and table source topics; unjoined topologies have no groups', () => {
    const b = new StreamsBuilder()
    const table = b.table<string, string>('right', { keySerde: str, valueSerde: str })
    const s: KStream<string, string> = b.stream('left', { keySerde: str, valueSerde: str })
    s.join(table as KTable<string, string>, (v, t) => show(v, t)).to('out', {
      keySerde: str,
      valueSerde: str,
    })
    expect(b.build().copartitionGroups()).toEqual([['left', 'right']])

    const plain = new StreamsBuilder()
    plain.stream('left', { keySerde: str, valueSerde: str }).to('out', { keySerde: str, valueSerde: str })
    expect(plain.build().copartitionGroups()).toEqual([])
  })

  it('left join equals a naive reference on random interleavings (property)', () => {
    const op = fc.record({
      side: fc.constantFrom('L', 'R'),
      key: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: null, freq: 8 }),
      value: fc.option(fc.constantFrom('1', '2', '3'), { nil: null, freq: 4 }),
    })
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { left, right, out } = joinDriver('leftJoin')
        const table = new Map<string, string>()
        const expected: [string | null, string][] = []
        ops.forEach(({ side, key, value }, i) => {
          if (side === 'L') {
            left.pipeInput(key, value, i)
            if (value !== null)
              expected.push([key, show(value, key === null ? null : (table.get(key) ?? null))])
          } else {
            right.pipeInput(key, value, i)
            if (key !== null) value === null ? table.delete(key) : table.set(key, value)
          }
        })
        expect(out.readKeyValuesToList()).toEqual(expected)
      }),
      { numRuns: 200 },
    )
  })
})
