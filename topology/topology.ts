// A built topology: immutable, independent of the application id. The runtime and the test driver create
// tasks from it; describe() shows it as Kafka Streams does, or as a Mermaid diagram.
import { describeTopology, type TopologyDescription } from './internals/describe/topology-description.js'
import { repartitionTopicName, storeChangelogTopic } from './internals/graph/names.js'
import type { StoreKind, TopologyGraph } from './internals/graph/topology-graph.js'

/** A changelog topic the runtime must create, with the kind of store it logs and its topic configs. */
export interface ChangelogTopic {
  readonly topic: string
  readonly store: string
  readonly kind: StoreKind
  /**
   * Always `cleanup.policy=compact`, window and session stores included: they tombstone what they
   * expire, so restore never depends on the broker's time-based retention (see
   * window-change-logging-layer.ts). Their retention is given for information.
   */
  readonly config: { readonly 'cleanup.policy': 'compact' }
  readonly windowSizeMs?: number
  readonly retentionMs?: number
  /**
   * Present when the store logs into a topic of the user's (Materialized.withChangelogTopic): the
   * runtime checks that topic, it does not create it.
   */
  readonly userTopic?: true
}

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

  /**
   * Groups of source topics that must have the same number of partitions because a join reads them
   * together (Kafka Streams' copartitionGroups()): the runtime checks them at start. Repartition topics
   * are named as repartitionTopics() names them (prefixed with the application id, when given).
   */
  copartitionGroups(applicationId?: string): string[][] {
    return this.graph.copartitionGroups.map((group) =>
      group.map((t) =>
        t.internal && applicationId !== undefined ? repartitionTopicName(applicationId, t.topic) : t.topic,
      ),
    )
  }

  /**
   * The changelog topics, compacted, one per logged store (any kind): the runtime creates them, except
   * a user topic given with Materialized.withChangelogTopic().
   */
  changelogTopics(applicationId: string): string[] {
    return this.changelogTopicConfigs(applicationId).map((t) => t.topic)
  }

  /** The same topics with their store's kind and the configs to create them with. */
  changelogTopicConfigs(applicationId: string): ChangelogTopic[] {
    return [...this.graph.stores.values()]
      .filter((s) => s.loggingEnabled)
      .map((s) => ({
        topic: storeChangelogTopic(applicationId, s),
        store: s.name,
        kind: s.kind,
        config: { 'cleanup.policy': 'compact' } as const,
        ...(s.windowSizeMs === undefined ? {} : { windowSizeMs: s.windowSizeMs }),
        ...(s.retentionMs === undefined ? {} : { retentionMs: s.retentionMs }),
        ...(s.changelogTopic === undefined ? {} : { userTopic: true as const }),
      }))
  }
}
