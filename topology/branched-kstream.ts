// KStream.split(): declares branches one by one; defaultBranch() or noDefaultBranch() ends the split and
// returns the branches by name (the split's name prefix + the branch name, or its 1-based index; the
// default branch is "0" unless named), as in Kafka Streams.
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import { PassThroughProcessor } from './internals/processors/pass-through-processor.js'
import { type SplitBranch, SplitProcessor } from './internals/processors/split-processor.js'
import { KStream } from './kstream.js'

export interface Branched {
  readonly name?: string
}

export class BranchedKStream<K, V> {
  readonly #branches: SplitBranch<K, V>[] = []
  readonly #streams: Record<string, KStream<K, V>> = {}
  readonly #splitNode: string

  /** @internal */
  constructor(
    private readonly graph: GraphBuilder,
    private readonly parent: KStream<K, V>,
    private readonly prefix: string,
  ) {
    this.#splitNode = graph.name(prefix === '' ? undefined : prefix, 'KSTREAM-BRANCH')
    const branches = this.#branches
    graph.addProcessor(this.#splitNode, () => new SplitProcessor<K, V>([...branches]), [parent.nodeName])
  }

  branch(predicate: (key: K, value: V) => boolean, branched: Branched = {}): this {
    this.#add(predicate, branched.name ?? String(this.#branches.length + 1))
    return this
  }

  defaultBranch(branched: Branched = {}): Record<string, KStream<K, V>> {
    this.#add(undefined, branched.name ?? '0')
    return this.#streams
  }

  noDefaultBranch(): Record<string, KStream<K, V>> {
    return this.#streams
  }

  #add(predicate: ((key: K, value: V) => boolean) | undefined, branchName: string): void {
    const child = `${this.#splitNode}-${branchName}`
    this.graph.addProcessor(child, () => new PassThroughProcessor<K, V>(), [this.#splitNode])
    this.#branches.push({ predicate, child })
    const p = this.parent
    this.#streams[`${this.prefix}${branchName}`] = new KStream<K, V>(
      this.graph,
      child,
      p.keySerde,
      p.valueSerde,
      p.repartitionRequired,
    )
  }
}
