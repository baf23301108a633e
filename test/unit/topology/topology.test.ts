// describe() of a known topology, pinned as text and as Mermaid, and the internal topic lists.
import { describe, expect, it } from 'vitest'
import { Materialized, Serdes, StreamsBuilder, type Topology } from '../../../topology/index.js'

const str = Serdes.String()

function known(): Topology {
  const b = new StreamsBuilder()
  const events = b.stream<string, string>('agent_events', { keySerde: str, valueSerde: str })
  const { active } = events
    .split()
    .branch((_k, v) => v !== 'retired', { name: 'active' })
    .noDefaultBranch()
  if (active === undefined) throw new Error('no branch')
  active
    .filter((_k, v) => v.length > 0)
    .mapValues((v) => v.toUpperCase())
    .to('agent_party.agents', { keySerde: str, valueSerde: str })
  active
    .groupBy((_k, v) => v, { name: 'by-status', keySerde: str, valueSerde: str })
    .count(Materialized.as('status-counts'))
    .toStream()
    .to('agent_party.status_counts', { keySerde: str, valueSerde: Serdes.Long() })
  return b.build()
}

describe('Topology', () => {
  it('describes itself as Kafka Streams does', () => {
    expect(known().describe().toString()).toBe(`Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [agent_events])
      --> KSTREAM-BRANCH-0000000001
    Processor: KSTREAM-BRANCH-0000000001 (stores: [])
      --> KSTREAM-BRANCH-0000000001-active
      <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-BRANCH-0000000001-active (stores: [])
      --> KSTREAM-FILTER-0000000002, KSTREAM-KEY-SELECT-0000000005
      <-- KSTREAM-BRANCH-0000000001
    Processor: KSTREAM-FILTER-0000000002 (stores: [])
      --> KSTREAM-MAPVALUES-0000000003
      <-- KSTREAM-BRANCH-0000000001-active
    Processor: KSTREAM-MAPVALUES-0000000003 (stores: [])
      --> KSTREAM-SINK-0000000004
      <-- KSTREAM-FILTER-0000000002
    Sink: KSTREAM-SINK-0000000004 (topic: agent_party.agents)
      <-- KSTREAM-MAPVALUES-0000000003
    Processor: KSTREAM-KEY-SELECT-0000000005 (stores: [])
      --> by-status-repartition-sink
      <-- KSTREAM-BRANCH-0000000001-active
    Sink: by-status-repartition-sink (topic: by-status-repartition)
      <-- KSTREAM-KEY-SELECT-0000000005

   Sub-topology: 1
    Source: by-status-repartition-source (topics: [by-status-repartition])
      --> KSTREAM-AGGREGATE-0000000006
    Processor: KSTREAM-AGGREGATE-0000000006 (stores: [status-counts])
      --> KTABLE-TOSTREAM-0000000007
      <-- by-status-repartition-source
    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
      --> KSTREAM-SINK-0000000008
      <-- KSTREAM-AGGREGATE-0000000006
    Sink: KSTREAM-SINK-0000000008 (topic: agent_party.status_counts)
      <-- KTABLE-TOSTREAM-0000000007

`)
  })

  it('describes itself as a Mermaid flowchart', () => {
    expect(known().describe().toMermaid()).toBe(`flowchart TD
  subgraph sub0["Sub-topology 0"]
    n0["KSTREAM-SOURCE-0000000000"]
    n1["KSTREAM-BRANCH-0000000001"]
    n2["KSTREAM-BRANCH-0000000001-active"]
    n3["KSTREAM-FILTER-0000000002"]
    n4["KSTREAM-MAPVALUES-0000000003"]
    n5["KSTREAM-SINK-0000000004"]
    n6["KSTREAM-KEY-SELECT-0000000005"]
    n7["by-status-repartition-sink"]
  end
  subgraph sub1["Sub-topology 1"]
    n8["by-status-repartition-source"]
    n9["KSTREAM-AGGREGATE-0000000006"]
    n10["KTABLE-TOSTREAM-0000000007"]
    n11["KSTREAM-SINK-0000000008"]
  end
  t0[/"agent_events"/]
  t1[/"agent_party.agents"/]
  t2[/"by-status-repartition"/]
  s0[("status-counts")]
  t3[/"agent_party.status_counts"/]
  n0 --> n1
  t0 --> n0
  n1 --> n2
  n2 --> n3
  n2 --> n6
  n3 --> n4
  n4 --> n5
  n5 --> t1
  n6 --> n7
  n7 --> t2
  n8 --> n9
  t2 --> n8
  n9 --> n10
  n9 --- s0
  n10 --> n11
  n11 --> t3
`)
  })

  it('lists the topics the runtime must create, prefixed with the application id', () => {
    const t = known()
    expect(t.sourceTopics()).toEqual(['agent_events'])
    expect(t.repartitionTopics('ap')).toEqual(['ap-by-status-repartition'])
    expect(t.changelogTopics('ap')).toEqual(['ap-status-counts-changelog'])
  })

  it('generates the same names for the same program (stable across restarts)', () => {
    expect(known().describe().toString()).toBe(known().describe().toString())
  })
})
