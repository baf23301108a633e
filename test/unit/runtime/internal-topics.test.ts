// planTopology: source topics present, co-partitioning checked, internal topics sized and configured as
// Kafka Streams' InternalTopicManager does.
import { describe, expect, it } from 'vitest'
import {
  JoinWindows,
  type KStream,
  Materialized,
  Serdes,
  StreamsBuilder,
  type TopologyError,
} from '../../../topology/index.js'
import { planTopology, type TopologyLayout } from '../../../topology/runtime/internal-topics.js'

const str = Serdes.String()
const long = Serdes.Long()
const serdes = { keySerde: str, valueSerde: str }

function plan(b: StreamsBuilder, existing: Record<string, number>): TopologyLayout {
  return planTopology(b.build().graph, 'app', new Map(Object.entries(existing)))
}

function planError(b: StreamsBuilder, existing: Record<string, number>): TopologyError {
  try {
    plan(b, existing)
  } catch (error) {
    return error as TopologyError
  }
  throw new Error('planTopology did not throw')
}

function streamTableJoin(rekey = false): StreamsBuilder {
  const b = new StreamsBuilder()
  let orders: KStream<string, string> = b.stream<string, string>('orders', serdes)
  if (rekey) orders = orders.selectKey((_k, v) => v)
  const customers = b.table<string, string>('customers', serdes)
  orders.join(customers, (o: string, c: string) => `${o}/${c}`).to('out', serdes)
  return b
}

function rekeyedCount(): StreamsBuilder {
  const b = new StreamsBuilder()
  b.stream<string, string>('orders', serdes)
    .selectKey((_k, v) => v)
    .groupByKey({ name: 'by-agent', ...serdes })
    .count(Materialized.as<string, number>('counts'))
    .toStream()
    .to('out', { keySerde: str, valueSerde: long })
  return b
}

function tableTableJoin(): StreamsBuilder {
  const b = new StreamsBuilder()
  const left = b.table<string, string>('left', serdes, Materialized.as<string, string>('left-store'))
  const right = b.table<string, string>('right', serdes, Materialized.as<string, string>('right-store'))
  left
    .join(right, (x: string, y: string) => x + y)
    .toStream()
    .to('out', serdes)
  return b
}

function spec(layout: TopologyLayout, name: string) {
  const found = layout.internalTopics.find((t) => t.name === name)
  if (found === undefined)
    throw new Error(`no internal topic ${name} in ${layout.internalTopics.map((t) => t.name)}`)
  return found
}

describe('planTopology', () => {
  it('fails with MISSING_SOURCE_TOPIC naming each missing source topic', () => {
    const error = planError(streamTableJoin(), { orders: 4 })
    expect(error.code).toBe('MISSING_SOURCE_TOPIC')
    expect(error.subject).toBe('customers')
    expect(error.message).toMatch(/source topic\(s\) customers do not exist/)

    const both = planError(tableTableJoin(), {})
    expect(both.code).toBe('MISSING_SOURCE_TOPIC')
    expect(both.message).toContain('left, right')
  })

  it('a stream-table join of co-partitioned topics: one sub-topology, tasks and changelog per partition', () => {
    const layout = plan(streamTableJoin(), { orders: 4, customers: 4 })
    expect(layout.subtopologies).toEqual([{ id: 0, topics: ['orders', 'customers'] }])
    expect(layout.repartitionTopics).toEqual([])
    expect(layout.internalTopics).toHaveLength(1)
    expect(layout.internalTopics[0]).toMatchObject({
      name: expect.stringMatching(/^app-.*-changelog$/),
      partitions: 4,
      configs: { 'cleanup.policy': 'compact' },
    })
  })

  it('a stream-table join of topics with different partition counts: COPARTITIONING_MISMATCH naming both', () => {
    const error = planError(streamTableJoin(), { orders: 4, customers: 6 })
    expect(error.code).toBe('COPARTITIONING_MISMATCH')
    expect(error.message).toContain('orders has 4')
    expect(error.message).toContain('customers has 6')
  })

  it('a table-table join: mismatch detected; when equal, both changelogs compacted with one partition per task', () => {
    const error = planError(tableTableJoin(), { left: 2, right: 3 })
    expect(error.code).toBe('COPARTITIONING_MISMATCH')
    expect(error.message).toContain('left has 2')
    expect(error.message).toContain('right has 3')

    const layout = plan(tableTableJoin(), { left: 3, right: 3 })
    expect(spec(layout, 'app-left-store-changelog')).toEqual({
      name: 'app-left-store-changelog',
      partitions: 3,
      configs: { 'cleanup.policy': 'compact' },
    })
    expect(spec(layout, 'app-right-store-changelog')).toMatchObject({ partitions: 3 })
  })

  it('selectKey + groupByKey: a repartition topic with the upstream count and infinite retention', () => {
    const layout = plan(rekeyedCount(), { orders: 5 })
    expect(layout.repartitionTopics).toEqual(['app-by-agent-repartition'])
    expect(layout.subtopologies).toEqual([
      { id: 0, topics: ['orders'] },
      { id: 1, topics: ['app-by-agent-repartition'] },
    ])
    expect(layout.partitions.get('app-by-agent-repartition')).toBe(5)
    expect(spec(layout, 'app-by-agent-repartition')).toEqual({
      name: 'app-by-agent-repartition',
      partitions: 5,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
    })
    expect(spec(layout, 'app-counts-changelog')).toEqual({
      name: 'app-counts-changelog',
      partitions: 5,
      configs: { 'cleanup.policy': 'compact' },
    })
  })

  it('a re-keyed stream joined with a table: the repartition topic takes the table topic’s count', () => {
    const layout = plan(streamTableJoin(true), { orders: 3, customers: 8 })
    expect(layout.repartitionTopics).toHaveLength(1)
    const repartition = layout.repartitionTopics[0] as string
    expect(layout.partitions.get(repartition)).toBe(8)
    expect(spec(layout, repartition)).toMatchObject({
      partitions: 8,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
    })
    // The join's sub-topology reads the table topic and the repartition topic: 8 tasks, 8-partition changelog.
    const changelog = layout.internalTopics.find((t) => t.name.endsWith('-changelog'))
    expect(changelog).toMatchObject({ partitions: 8, configs: { 'cleanup.policy': 'compact' } })
  })

  it('two re-keyed streams joined: both repartition topics take the larger upstream count', () => {
    const b = new StreamsBuilder()
    const left = b.stream<string, string>('l', serdes).selectKey((_k, v) => v)
    const right = b.stream<string, string>('r', serdes).selectKey((_k, v) => v)
    left
      .join(right, (x: string, y: string) => x + y, JoinWindows.ofTimeDifferenceWithNoGrace(1000), {
        keySerde: str,
        valueSerde: str,
        otherValueSerde: str,
      })
      .to('out', serdes)
    const layout = plan(b, { l: 3, r: 5 })
    expect(layout.repartitionTopics).toHaveLength(2)
    for (const t of layout.repartitionTopics) expect(layout.partitions.get(t)).toBe(5)
    // The join's window stores: one changelog partition per task of the joining sub-topology.
    const changelogs = layout.internalTopics.filter((t) => t.name.endsWith('-changelog'))
    expect(changelogs.length).toBeGreaterThan(0)
    for (const c of changelogs)
      expect(c).toMatchObject({ partitions: 5, configs: { 'cleanup.policy': 'compact' } })
  })

  it('a repartition of a repartition keeps the original count', () => {
    const b = new StreamsBuilder()
    b.stream<string, string>('in', serdes)
      .repartition({ name: 'first' })
      .mapValues((v) => v.toUpperCase())
      .repartition({ name: 'second', ...serdes })
      .to('out', serdes)
    const layout = plan(b, { in: 7 })
    expect(layout.partitions.get('app-first-repartition')).toBe(7)
    expect(layout.partitions.get('app-second-repartition')).toBe(7)
  })

  it('a store without logging gets no changelog', () => {
    const b = new StreamsBuilder()
    b.stream<string, string>('orders', serdes)
      .groupByKey()
      .count(Materialized.as<string, number>('quiet').withLoggingDisabled())
      .toStream()
      .to('out', { keySerde: str, valueSerde: long })
    expect(plan(b, { orders: 2 }).internalTopics).toEqual([])
  })
})
