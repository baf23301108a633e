// The mutable graph the DSL writes into: nodes with their parents, stores, and the problems found along
// the way. Nothing is thrown here for invalid use; build-topology.ts reports all problems at build().
import type { TopologyError } from '../../errors.js'
import type { ProcessorSupplier } from '../../processor.js'
import type { TimestampExtractor } from '../../record-handlers.js'
import type { Serde } from '../../serdes.js'
import { generatedName, validateName } from './names.js'
import type { StoreKind } from './topology-graph.js'

export interface PendingSerdes {
  keySerde: Serde<unknown> | undefined
  valueSerde: Serde<unknown> | undefined
  /** Applied to a default value serde (a table change on a repartition topic wraps the value serde). */
  wrapValueSerde?: (serde: Serde<unknown>) => Serde<unknown>
  /** What the user should pass to supply a missing serde, for the error message. */
  hint: string
}

export interface PendingNode {
  readonly name: string
  readonly index: number
  readonly kind: 'source' | 'processor' | 'sink'
  readonly parents: string[]
  readonly stores: string[]
  readonly topics: readonly string[]
  readonly internal: boolean
  readonly serdes: PendingSerdes | undefined
  readonly supplier: ProcessorSupplier<unknown, unknown, unknown, unknown> | undefined
  readonly timestampExtractor?: TimestampExtractor<unknown, unknown> | undefined
}

export interface PendingStore {
  /** Default 'key-value'. */
  readonly kind?: StoreKind
  readonly name: string
  readonly keySerde: Serde<unknown> | undefined
  readonly valueSerde: Serde<unknown> | undefined
  readonly cachingEnabled: boolean
  readonly loggingEnabled: boolean
  /** Materialized.withChangelogTopic(): a user topic logged into instead of the internal changelog. */
  readonly changelogTopic?: string | undefined
  readonly windowSizeMs?: number
  readonly retentionMs?: number
  /** Applied to a default value serde (a window store keeps ValueAndTimestamp of the aggregate). */
  readonly wrapValueSerde?: (serde: Serde<unknown>) => Serde<unknown>
  readonly hint: string
}

export class GraphBuilder {
  readonly nodes: PendingNode[] = []
  readonly stores: PendingStore[] = []
  readonly problems: TopologyError[] = []
  /** Nodes whose upstream source topics must be co-partitioned (each join's two inputs). */
  readonly copartitions: (readonly string[])[] = []
  #counter = 0

  /** A user-given name (validated) or the next generated one with this prefix. */
  name(userName: string | undefined, prefix: string): string {
    if (userName !== undefined) return validateName(userName, 'Processor')
    return generatedName(prefix, this.#counter++)
  }

  addSource(
    name: string,
    topics: readonly string[],
    internal: boolean,
    serdes: PendingSerdes,
    timestampExtractor?: TimestampExtractor<unknown, unknown>,
  ): string {
    return this.#add({
      timestampExtractor,
      name,
      kind: 'source',
      parents: [],
      stores: [],
      topics,
      internal,
      serdes,
      supplier: undefined,
    })
  }

  addProcessor<KIn, VIn, KOut, VOut>(
    name: string,
    supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
    parents: readonly string[],
    stores: readonly string[] = [],
  ): string {
    return this.#add({
      name,
      kind: 'processor',
      parents: [...parents],
      stores: [...stores],
      topics: [],
      internal: false,
      serdes: undefined,
      supplier: supplier as unknown as ProcessorSupplier<unknown, unknown, unknown, unknown>,
    })
  }

  addSink(name: string, topic: string, internal: boolean, parent: string, serdes: PendingSerdes): string {
    return this.#add({
      name,
      kind: 'sink',
      parents: [parent],
      stores: [],
      topics: [topic],
      internal,
      serdes,
      supplier: undefined,
    })
  }

  addStore(store: PendingStore): void {
    this.stores.push(store)
  }

  /** A sink and a source on `<base>-repartition`; returns the source's name. */
  addRepartition(parent: string, base: string, serdes: PendingSerdes): string {
    const topic = `${base}-repartition`
    this.addSink(`${base}-repartition-sink`, topic, true, parent, serdes)
    return this.addSource(`${base}-repartition-source`, [topic], true, serdes)
  }

  /** The source topics upstream of these nodes must have as many partitions (checked at start). */
  copartition(nodeNames: readonly string[]): void {
    this.copartitions.push([...nodeNames])
  }

  problem(error: TopologyError): void {
    this.problems.push(error)
  }

  #add(node: Omit<PendingNode, 'index'>): string {
    this.nodes.push({ ...node, index: this.nodes.length })
    return node.name
  }
}
