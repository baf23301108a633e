// Materialized.withChangelogTopic(): a table's store logs into a topic of the user's (its output) instead
// of `<applicationId>-<store>-changelog`. What build() refuses, what the runtime checks before it starts
// (planTopology, the topic's cleanup policy), how describe() shows it, and, on the test driver, that the
// topic receives exactly the table's changes and that a store restored from it goes on where it was.
import { describe, expect, it } from 'vitest'
import {
  Materialized,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  type Topology,
  TopologyBuildError,
  type TopologyError,
  TopologyTestDriver,
} from '../../../topology/index.js'
import { planTopology, userChangelogConfigProblem } from '../../../topology/runtime/internal-topics.js'

const str = Serdes.String()
const long = Serdes.Long()

function counts(
  configure: (m: Materialized<string, number>) => Materialized<string, number>,
): StreamsBuilder {
  const b = new StreamsBuilder()
  b.stream<string, string>('words', { keySerde: str, valueSerde: str })
    .groupByKey()
    .count(configure(Materialized.as<string, number>('counts').withKeySerde(str).withValueSerde(long)))
  return b
}

const logged = () => counts((m) => m.withChangelogTopic('word-counts'))

function buildProblems(b: StreamsBuilder): string[] {
  try {
    b.build()
  } catch (error) {
    if (error instanceof TopologyBuildError) return error.problems.map((p) => p.message)
    throw error
  }
  return []
}

function planError(topology: Topology, existing: Record<string, number>): TopologyError {
  try {
    planTopology(topology.graph, 'app', new Map(Object.entries(existing)))
  } catch (error) {
    return error as TopologyError
  }
  throw new Error('planTopology did not throw')
}

describe('Materialized.withChangelogTopic()', () => {
  it('names the store changelog after the given topic: not an internal topic to create', () => {
    const topology = logged().build()
    expect(topology.changelogTopicConfigs('app')).toEqual([
      {
        topic: 'word-counts',
        store: 'counts',
        kind: 'key-value',
        config: { 'cleanup.policy': 'compact' },
        userTopic: true,
      },
    ])
    const layout = planTopology(
      topology.graph,
      'app',
      new Map([
        ['words', 4],
        ['word-counts', 4],
      ]),
    )
    expect(layout.internalTopics).toEqual([])
  })

  it('is refused before start when the topic has another partition count than the store has tasks', () => {
    const error = planError(logged().build(), { words: 4, 'word-counts': 3 })
    expect(error.code).toBe('INVALID_CHANGELOG_TOPIC')
    expect(error.message).toBe(
      'INVALID_CHANGELOG_TOPIC: topic word-counts, the changelog of store counts, has 3 partitions but the store has 4 tasks (one per partition of the topics it reads): recreate the topic with 4 partitions',
    )
    expect(planError(logged().build(), { words: 4 }).message).toMatch(
      /^MISSING_SINK_TOPIC: topic word-counts, the changelog of store counts, does not exist: create it \(compacted, 4 partitions\)/,
    )
  })

  it('accepts a compacted topic, and refuses one that deletes records a restore needs', () => {
    expect(userChangelogConfigProblem({ 'cleanup.policy': 'compact' })).toBeUndefined()
    expect(
      userChangelogConfigProblem({ 'cleanup.policy': 'compact,delete', 'retention.ms': '-1' }),
    ).toBeUndefined()
    expect(userChangelogConfigProblem({})).toBe('cleanup.policy is delete, not compact')
    expect(userChangelogConfigProblem({ 'cleanup.policy': 'delete' })).toBe(
      'cleanup.policy is delete, not compact',
    )
    expect(
      userChangelogConfigProblem({ 'cleanup.policy': 'compact,delete', 'retention.ms': '604800000' }),
    ).toBe('cleanup.policy compact,delete deletes records after retention.ms 604800000')
    expect(
      userChangelogConfigProblem({
        'cleanup.policy': 'compact,delete',
        'retention.ms': '-1',
        'retention.bytes': '1024',
      }),
    ).toBe('cleanup.policy compact,delete deletes records past retention.bytes 1024')
  })

  it('is refused by build() on a window store, with logging disabled, twice for one topic, or beside a sink to the topic', () => {
    const windowed = new StreamsBuilder()
    windowed
      .stream<string, string>('words', { keySerde: str, valueSerde: str })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(60_000))
      .count(
        Materialized.as<string, number>('windowed').withValueSerde(long).withChangelogTopic('windowed-out'),
      )
    expect(buildProblems(windowed)).toEqual([
      'INVALID_ARGUMENT: store windowed is a window store: Materialized.withChangelogTopic() is for key-value stores (tables) only',
    ])

    expect(buildProblems(counts((m) => m.withChangelogTopic('word-counts').withLoggingDisabled()))).toEqual([
      'INVALID_ARGUMENT: store counts has logging disabled and a changelog topic (word-counts): drop one of withLoggingDisabled() and withChangelogTopic()',
    ])

    const twice = logged()
    twice
      .stream<string, string>('other', { keySerde: str, valueSerde: str })
      .groupByKey()
      .count(Materialized.as<string, number>('more').withValueSerde(long).withChangelogTopic('word-counts'))
    expect(buildProblems(twice)).toEqual([
      'INVALID_TOPOLOGY: topic word-counts is the changelog of both counts and more: give each store its own',
    ])

    const b = new StreamsBuilder()
    b.stream<string, string>('words', { keySerde: str, valueSerde: str })
      .groupByKey()
      .count(Materialized.as<string, number>('counts').withValueSerde(long).withChangelogTopic('word-counts'))
      .toStream()
      .to('word-counts', { keySerde: str, valueSerde: long })
    expect(buildProblems(b)).toEqual([
      expect.stringMatching(
        /^INVALID_TOPOLOGY: topic word-counts is the changelog of store counts, and sink KSTREAM-SINK-\d+ writes to it too: drop the sink/,
      ),
    ])
  })

  it('is refused by build() on a topic the topology reads', () => {
    const b = new StreamsBuilder()
    b.table<string, number>(
      'word-counts',
      { keySerde: str, valueSerde: long },
      Materialized.as<string, number>('copy').withChangelogTopic('word-counts'),
    )
    expect(buildProblems(b)).toEqual([
      expect.stringMatching(
        /^INVALID_TOPOLOGY: topic word-counts is the changelog of store copy, and source KSTREAM-SOURCE-\d+ reads it/,
      ),
    ])
  })

  it('refuses a topic name Kafka would refuse', () => {
    expect(() => Materialized.as('counts').withChangelogTopic('no spaces')).toThrow(
      /Changelog topic name "no spaces" is not valid/,
    )
  })

  it('shows in describe() which topic the store logs into', () => {
    const description = logged().build().describe()
    expect(description.toString()).toContain('      store counts logs to topic: word-counts\n')
    expect(description.toMermaid()).toMatch(/ s0 -\. changelog \.-> t\d+\n/)
  })

  it('writes each change of the table to the topic, which restores the store of a new task where it was', () => {
    const first = new TopologyTestDriver(logged().build(), { applicationId: 'app', autoCommit: false })
    const words = first.createInputTopic('words', str, str)
    for (const w of ['a', 'b', 'a', 'c', 'a']) words.pipeInput(w, 'x')
    first.commit()
    const records = first
      .createOutputTopic('word-counts', Serdes.Buffer(), Serdes.Buffer())
      .readKeyValuesToList()
    expect(
      records.map(([k, v]) => [str.deserialize('', k as Buffer), long.deserialize('', v as Buffer)]),
    ).toEqual([
      ['a', 3],
      ['b', 1],
      ['c', 1],
    ])
    expect(first.producedTopicNames()).toEqual(['word-counts'])
    first.close()

    const second = new TopologyTestDriver(logged().build(), {
      applicationId: 'app',
      autoCommit: false,
      changelogs: { 'word-counts': records.map(([key, value]) => ({ key, value })) },
    })
    const more = second.createInputTopic('words', str, str)
    for (const w of ['a', 'c']) more.pipeInput(w, 'x')
    second.commit()
    expect(second.createOutputTopic('word-counts', str, long).readKeyValuesToList()).toEqual([
      ['a', 4],
      ['c', 2],
    ])
  })
})
