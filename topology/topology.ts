// A built topology: immutable, independent of the application id. The runtime and the test driver create
// tasks from it; describe() shows it as Kafka Streams does, or as a Mermaid diagram.
import { describeTopology, type TopologyDescription } from './internals/describe/topology-description.js'
import { changelogTopicName, repartitionTopicName } from './internals/graph/names.js'
import type { TopologyGraph } from './internals/graph/topology-graph.js'

export class Topology {
  /** @internal The graph tasks are built from; not part of the public API. */
  readonly graph: TopologyGraph

  /** @internal Built by StreamsBuilder.build(). */
  constructor(graph: TopologyGraph) {
    this.graph = graph
  }

  describe(): TopologyDescription {
    return describeTopology(this.graph)
  }

  /** The user topics the topology reads. */
  sourceTopics(): string[] {
    return this.graph.subtopologies.flatMap((s) =>
      s.sourceTopics.filter((t) => !t.internal).map((t) => t.topic),
    )
  }

  /** The repartition topics the runtime must create (with the partition count of their upstream). */
  repartitionTopics(applicationId: string): string[] {
    return this.graph.repartitionTopics.map((t) => repartitionTopicName(applicationId, t))
  }

  /** The changelog topics the runtime must create, compacted, one per logged store. */
  changelogTopics(applicationId: string): string[] {
    return [...this.graph.stores.values()]
      .filter((s) => s.loggingEnabled)
      .map((s) => changelogTopicName(applicationId, s.name))
  }
}
