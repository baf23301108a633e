// The built, immutable form of a topology: nodes, stores and sub-topologies, independent of any
// application id (internal topic names are prefixed by the runtime). Tasks are instantiated from it.
import type { ProcessorSupplier } from '../../processor.js'
import type { TimestampExtractor } from '../../record-handlers.js'
import type { Serde } from '../../serdes.js'

/** What a store holds: the task builds each kind with its own builder (build-key-value-store.ts, window-build-store.ts). */
export type StoreKind = 'key-value' | 'window' | 'session'

export interface StoreSpec {
  readonly kind: StoreKind
  readonly name: string
  readonly keySerde: Serde<unknown> | undefined
  readonly valueSerde: Serde<unknown> | undefined
  readonly cachingEnabled: boolean
  readonly loggingEnabled: boolean
  /**
   * A user topic that serves as the changelog (Materialized.withChangelogTopic), key-value stores only:
   * not created by the runtime, cleared by the reset (a tombstone per key). Undefined: `<applicationId>-<name>-changelog`.
   */
  readonly changelogTopic?: string | undefined
  /** Window stores: the size of every window. */
  readonly windowSizeMs?: number | undefined
  /** Window and session stores: how long an entry is kept after its end, by stream time. */
  readonly retentionMs?: number | undefined
}

interface NodeBase {
  readonly name: string
  /** Creation order: a topological order, and the order describe() lists nodes in. */
  readonly index: number
  readonly parents: readonly string[]
  readonly children: readonly string[]
}

export interface SourceNodeSpec extends NodeBase {
  readonly kind: 'source'
  readonly topics: readonly string[]
  /** True for a repartition topic: its name is prefixed with the application id. */
  readonly internal: boolean
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
  /** Undefined: the record's own timestamp. */
  readonly timestampExtractor: TimestampExtractor<unknown, unknown> | undefined
}

export interface ProcessorNodeSpec extends NodeBase {
  readonly kind: 'processor'
  readonly supplier: ProcessorSupplier<unknown, unknown, unknown, unknown>
  readonly stores: readonly string[]
}

export interface SinkNodeSpec extends NodeBase {
  readonly kind: 'sink'
  readonly topic: string
  readonly internal: boolean
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
}

export type NodeSpec = SourceNodeSpec | ProcessorNodeSpec | SinkNodeSpec

export interface SubtopologySpec {
  readonly id: number
  /** Node names in topological (creation) order. */
  readonly nodes: readonly string[]
  /** Topic name as written in the DSL, with whether it is internal. */
  readonly sourceTopics: readonly SourceTopicRef[]
  /** Stores in the order of the first node that uses them, which is the order caches flush in. */
  readonly stores: readonly string[]
}

export interface TopologyGraph {
  readonly nodes: ReadonlyMap<string, NodeSpec>
  readonly stores: ReadonlyMap<string, StoreSpec>
  readonly subtopologies: readonly SubtopologySpec[]
  /** Unprefixed names of the repartition topics (`...-repartition`). */
  readonly repartitionTopics: readonly string[]
  /** Source topics that must have the same partition count (joins), overlapping groups merged. */
  readonly copartitionGroups: readonly (readonly SourceTopicRef[])[]
}

export interface SourceTopicRef {
  readonly topic: string
  readonly internal: boolean
}
