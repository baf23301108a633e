// KTable.join/leftJoin/outerJoin(KTable): pinned against the KTable-KTable join table of Kafka Streams'
// docs (docs/streams/developer-guide/dsl-api.html, "KTable-KTable Equi-Join"; the inputs of the Kafka wiki
// page "Kafka Streams Join Semantics"): each side's update looks up the other side, the result table
// forwards new and old joined values, and an inner join sends a tombstone only for a result that existed.
import { describe, expect, it } from 'vitest'
import { Materialized, Serdes, StreamsBuilder, TopologyTestDriver } from '../../../topology/index.js'
import { joinTopics, runDocsTable, show, str } from './join-fixtures.js'

type Kind = 'join' | 'leftJoin' | 'outerJoin'

function tablesDriver(kind: Kind, materialize = false, cacheMaxBytes?: number) {
  const b = new StreamsBuilder()
  const left = b.table<string, string>('left', { keySerde: str, valueSerde: str })
  const right = b.table<string, string>('right', { keySerde: str, valueSerde: str })
  const m = materialize ? Materialized.as<string, string>('joined').withValueSerde(str) : undefined
  const joined =
    kind === 'join'
      ? left.join(right, (l, r) => show(l, r), m)
      : kind === 'leftJoin'
        ? left.leftJoin(right, (l, r) => show(l, r), m)
        : left.outerJoin(right, (l, r) => show(l, r), m)
  joined.toStream().to('out', { keySerde: str, valueSerde: str })
  const driver = new TopologyTestDriver(b.build(), cacheMaxBytes === undefined ? {} : { cacheMaxBytes })
  return joinTopics(driver)
}

function docsTable(kind: Kind, materialize = false): [number, string | null][] {
  return runDocsTable(tablesDriver(kind, materialize))
}

// The docs' expected columns, by timestamp (null: a tombstone).
const INNER: [number, string | null][] = [
  [4, '[A, a]'],
  [5, '[B, a]'],
  [6, '[B, b]'],
  [7, null],
  [10, '[C, c]'],
  [11, null],
  [15, '[D, d]'],
]
const LEFT: [number, string | null][] = [
  [3, '[A, null]'],
  [4, '[A, a]'],
  [5, '[B, a]'],
  [6, '[B, b]'],
  [7, null],
  [9, '[C, null]'],
  [10, '[C, c]'],
  [11, '[C, null]'],
  [12, null],
  [15, '[D, d]'],
]
const OUTER: [number, string | null][] = [
  [3, '[A, null]'],
  [4, '[A, a]'],
  [5, '[B, a]'],
  [6, '[B, b]'],
  [7, '[null, b]'],
  [8, null],
  [9, '[C, null]'],
  [10, '[C, c]'],
  [11, '[C, null]'],
  [12, null],
  [14, '[null, d]'],
  [15, '[D, d]'],
]

describe('KTable-KTable join', () => {
  it('inner join: the docs table', () => expect(docsTable('join')).toEqual(INNER))
  it('left join: the docs table', () => expect(docsTable('leftJoin')).toEqual(LEFT))
  it('outer join: the docs table', () => expect(docsTable('outerJoin')).toEqual(OUTER))

  // Found by the oracle (test/integration/window-oracle.test.ts): without a cache Kafka's KTableSource
  // forwards Change(null, null) for a tombstone of a key it never had, and every KTableKTable*Join then
  // forwards when the other side has a row. Through the cache nothing is forwarded.
  it('a tombstone for a key one side never had re-sends the row when the other side has one (no cache)', () => {
    const rows = (kind: Kind, cache: number) => {
      const { left, right, out } = tablesDriver(kind, false, cache)
      right.pipeInput('k', 'a', 1)
      left.pipeInput('x', null, 2) // neither side has x: nothing
      left.pipeInput('k', null, 3) // left never had k, right has a
      right.pipeInput('y', null, 4)
      return out.readKeyValuesToList()
    }
    expect(rows('join', 0)).toEqual([['k', null]])
    expect(rows('leftJoin', 0)).toEqual([['k', null]])
    expect(rows('outerJoin', 0)).toEqual([
      ['k', '[null, a]'],
      ['k', '[null, a]'],
    ])
    expect(rows('join', 1 << 20)).toEqual([])
    expect(rows('outerJoin', 1 << 20)).toEqual([['k', '[null, a]']])
  })

  it('a materialized result gives the same updates and holds the current join', () => {
    expect(docsTable('outerJoin', true)).toEqual(OUTER)
    const { driver, left, right } = tablesDriver('join', true)
    left.pipeInput('x', 'A')
    right.pipeInput('x', 'a')
    right.pipeInput('y', 'b')
    expect(driver.getKeyValueStore('joined').get('x')).toBe('[A, a]')
    expect(driver.getKeyValueStore('joined').get('y')).toBeUndefined()
  })

  it('forwards the old joined value, so a re-grouped aggregate subtracts it', () => {
    const b = new StreamsBuilder()
    const agents = b.table<string, string>('agents', { keySerde: str, valueSerde: str })
    const teams = b.table<string, string>('teams', { keySerde: str, valueSerde: str })
    agents
      .join(teams, (_team, region) => region)
      .groupBy((_agent, region) => [region, 1], { keySerde: str, valueSerde: Serdes.Number() })
      .count()
      .toStream()
      .to('out', { keySerde: str, valueSerde: Serdes.Number() })
    const driver = new TopologyTestDriver(b.build())
    driver.createInputTopic('agents', str, str).pipeInput('k', 'eu-team')
    const teamsIn = driver.createInputTopic('teams', str, str)
    teamsIn.pipeInput('k', 'eu')
    teamsIn.pipeInput('k', 'us')
    const out = driver.createOutputTopic('out', str, Serdes.Number()).readKeyValuesToList()
    expect(out).toEqual([
      ['eu', 1],
      ['eu', 0],
      ['us', 1],
    ])
  })

  it('a join result without a store is read through both sides by a later stream join', () => {
    const b = new StreamsBuilder()
    const l = b.table<string, string>('left', { keySerde: str, valueSerde: str })
    const r = b.table<string, string>('right', { keySerde: str, valueSerde: str })
    const joined = l.leftJoin(r, (a, c) => show(a, c))
    b.stream<string, string>('events', { keySerde: str, valueSerde: str })
      .join(joined, (e, j) => `${e}@${j}`)
      .to('out', { keySerde: str, valueSerde: str })
    const topology = b.build()
    expect(topology.copartitionGroups()).toEqual([['events', 'left', 'right']])
    const driver = new TopologyTestDriver(topology)
    const events = driver.createInputTopic('events', str, str)
    driver.createInputTopic('left', str, str).pipeInput('k', 'A')
    events.pipeInput('k', 'e1')
    driver.createInputTopic('right', str, str).pipeInput('k', 'a')
    events.pipeInput('k', 'e2')
    events.pipeInput('z', 'e3')
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([
      ['k', 'e1@[A, null]'],
      ['k', 'e2@[A, a]'],
    ])
  })

  it('describe() shows the two join sides, each with the other side’s store, and the merge', () => {
    const b = new StreamsBuilder()
    const l = b.table<string, string>('left', { keySerde: str, valueSerde: str }, Materialized.as('l'))
    const r = b.table<string, string>('right', { keySerde: str, valueSerde: str }, Materialized.as('r'))
    l.join(r, (a, c) => show(a, c), { name: 'lr' })
      .toStream()
      .to('out', { keySerde: str, valueSerde: str })
    const topology = b.build()
    const text = topology.describe().toString()
    expect(topology.describe().subtopologies).toHaveLength(1)
    expect(text).toContain(
      'Processor: lr-join-this (stores: [r])\n      --> lr\n      <-- KTABLE-SOURCE-0000000001',
    )
    expect(text).toContain(
      'Processor: lr-join-other (stores: [l])\n      --> lr\n      <-- KTABLE-SOURCE-0000000003',
    )
    expect(text).toContain(
      'Processor: lr (stores: [])\n      --> KTABLE-TOSTREAM-0000000004\n      <-- lr-join-this, lr-join-other',
    )
    expect(topology.copartitionGroups()).toEqual([['left', 'right']])
  })
})
