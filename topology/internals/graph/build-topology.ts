// build(): checks the DSL's graph (names, stores, serdes, topics), resolves default serdes, and splits it
// into sub-topologies: nodes joined by parent edges or by a shared store run in one task; topics (such as
// repartition topics) separate sub-topologies. Every problem is reported at once, each with its code.
import { TopologyBuildError, TopologyError } from '../../errors.js'
import type { Serde } from '../../serdes.js'
import type { GraphBuilder, PendingNode, PendingSerdes } from './graph-builder.js'
import type { NodeSpec, SourceTopicRef, StoreSpec, SubtopologySpec, TopologyGraph } from './topology-graph.js'

export interface BuildDefaults {
  readonly defaultKeySerde?: Serde<unknown> | undefined
  readonly defaultValueSerde?: Serde<unknown> | undefined
}

export function buildTopologyGraph(graph: GraphBuilder, defaults: BuildDefaults): TopologyGraph {
  const problems = [...graph.problems]
  const nodeNames = new Set<string>()
  for (const node of graph.nodes) {
    if (nodeNames.has(node.name)) {
      problems.push(
        new TopologyError(
          'DUPLICATE_NAME',
          `the name ${node.name} is used by two processors: give one of them another name`,
          {
            subject: node.name,
          },
        ),
      )
    }
    nodeNames.add(node.name)
  }

  const stores = new Map<string, StoreSpec>()
  for (const store of graph.stores) {
    if (stores.has(store.name)) {
      problems.push(
        new TopologyError(
          'DUPLICATE_NAME',
          `the store name ${store.name} is used twice: give each store its own name`,
          {
            subject: store.name,
          },
        ),
      )
      continue
    }
    let { keySerde, valueSerde } = store
    if (store.loggingEnabled) {
      keySerde ??= defaults.defaultKeySerde
      const fallback = defaults.defaultValueSerde
      valueSerde ??= fallback && store.wrapValueSerde ? store.wrapValueSerde(fallback) : fallback
      if (keySerde === undefined || valueSerde === undefined) {
        problems.push(
          new TopologyError(
            'MISSING_SERDE',
            `store ${store.name} has no ${keySerde === undefined ? 'key' : 'value'} serde for its changelog: ${store.hint}`,
            { subject: store.name },
          ),
        )
      }
    }
    const { wrapValueSerde: _wrap, hint: _hint, ...rest } = store
    stores.set(store.name, { ...rest, kind: store.kind ?? 'key-value', keySerde, valueSerde })
  }

  problems.push(...changelogTopicProblems(graph, stores))

  const readers = new Map<string, string>()
  for (const node of graph.nodes) {
    if (node.kind === 'source') {
      for (const topic of node.topics) {
        const other = readers.get(topic)
        if (other !== undefined) {
          problems.push(
            new TopologyError(
              'INVALID_TOPOLOGY',
              `topic ${topic} is read by both ${other} and ${node.name}: read it once and share the stream`,
              {
                subject: topic,
              },
            ),
          )
        }
        readers.set(topic, node.name)
      }
    }
    for (const store of node.stores) {
      if (!stores.has(store)) {
        problems.push(
          new TopologyError(
            'UNKNOWN_STORE',
            `processor ${node.name} uses store ${store}, which was never added: call builder.addStateStore(Stores.keyValueStoreBuilder('${store}', keySerde, valueSerde)) first`,
            { subject: store },
          ),
        )
      }
    }
  }
  if (readers.size === 0) {
    problems.push(
      new TopologyError(
        'INVALID_TOPOLOGY',
        'the topology reads no topic: start it with builder.stream() or builder.table()',
      ),
    )
  }

  const children = new Map<string, string[]>()
  for (const node of graph.nodes)
    for (const parent of node.parents)
      (children.get(parent) ?? children.set(parent, []).get(parent))?.push(node.name)

  const nodes = new Map<string, NodeSpec>()
  for (const node of graph.nodes) {
    if (nodes.has(node.name)) continue
    const spec = nodeSpec(node, children.get(node.name) ?? [], defaults, problems)
    if (spec !== undefined) nodes.set(node.name, spec)
  }
  if (problems.length > 0) throw new TopologyBuildError(problems)

  return {
    nodes,
    stores,
    subtopologies: splitSubtopologies(graph.nodes),
    repartitionTopics: graph.nodes.filter((n) => n.kind === 'source' && n.internal).flatMap((n) => n.topics),
    copartitionGroups: copartitionGroups(graph.nodes, graph.copartitions),
  }
}

/**
 * The source topics upstream of each group of join inputs (walking parents up to the nearest sources,
 * repartition sources included), groups sharing a topic merged: Kafka Streams' copartitionGroups().
 */
function copartitionGroups(
  nodes: readonly PendingNode[],
  groups: readonly (readonly string[])[],
): SourceTopicRef[][] {
  const byName = new Map(nodes.map((n) => [n.name, n]))
  const sourcesOf = (start: readonly string[]): PendingNode[] => {
    const seen = new Set<string>()
    const found: PendingNode[] = []
    const stack = [...start]
    while (stack.length > 0) {
      const node = byName.get(stack.pop() as string)
      if (node === undefined || seen.has(node.name)) continue
      seen.add(node.name)
      if (node.kind === 'source') found.push(node)
      else stack.push(...node.parents)
    }
    return found
  }
  const merged: Map<string, SourceTopicRef>[] = []
  for (const group of groups) {
    const topics = new Map<string, SourceTopicRef>()
    for (const source of sourcesOf(group))
      for (const topic of source.topics) topics.set(topic, { topic, internal: source.internal })
    for (let i = merged.length - 1; i >= 0; i--) {
      const other = merged[i] as Map<string, SourceTopicRef>
      if ([...other.keys()].some((t) => topics.has(t))) {
        for (const [t, ref] of other) topics.set(t, ref)
        merged.splice(i, 1)
      }
    }
    if (topics.size > 1) merged.push(topics)
  }
  return merged.map((g) =>
    [...g.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0)),
  )
}

function nodeSpec(
  node: PendingNode,
  children: string[],
  defaults: BuildDefaults,
  problems: TopologyError[],
): NodeSpec | undefined {
  const base = { name: node.name, index: node.index, parents: node.parents, children }
  if (node.kind === 'processor') {
    return {
      ...base,
      kind: 'processor',
      supplier: node.supplier as NonNullable<PendingNode['supplier']>,
      stores: node.stores,
    }
  }
  const serdes = resolveSerdes(node, node.serdes as PendingSerdes, defaults, problems)
  if (serdes === undefined) return undefined
  if (node.kind === 'source')
    return {
      ...base,
      kind: 'source',
      topics: node.topics,
      internal: node.internal,
      ...serdes,
      timestampExtractor: node.timestampExtractor,
    }
  return { ...base, kind: 'sink', topic: node.topics[0] as string, internal: node.internal, ...serdes }
}

function resolveSerdes(
  node: PendingNode,
  serdes: PendingSerdes,
  defaults: BuildDefaults,
  problems: TopologyError[],
): { keySerde: Serde<unknown>; valueSerde: Serde<unknown> } | undefined {
  const keySerde = serdes.keySerde ?? defaults.defaultKeySerde
  let valueSerde = serdes.valueSerde
  if (valueSerde === undefined && defaults.defaultValueSerde !== undefined) {
    valueSerde = serdes.wrapValueSerde
      ? serdes.wrapValueSerde(defaults.defaultValueSerde)
      : defaults.defaultValueSerde
  }
  if (keySerde !== undefined && valueSerde !== undefined) return { keySerde, valueSerde }
  const what =
    keySerde === undefined ? (valueSerde === undefined ? 'key and value serdes' : 'key serde') : 'value serde'
  const role = node.kind === 'source' ? 'source' : 'sink'
  problems.push(
    new TopologyError(
      'MISSING_SERDE',
      `${role} ${node.name} (topic ${node.topics.join(', ')}) has no ${what}: ${serdes.hint}`,
      {
        subject: node.name,
      },
    ),
  )
  return undefined
}

function splitSubtopologies(nodes: readonly PendingNode[]): SubtopologySpec[] {
  const parent = new Map<string, string>()
  const find = (x: string): string => {
    let root = x
    while (parent.get(root) !== root) root = parent.get(root) as string
    parent.set(x, root)
    return root
  }
  const union = (a: string, b: string): void => {
    const ra = find(a)
    const rb = find(b)
    if (ra !== rb) parent.set(rb, ra)
  }
  for (const node of nodes) parent.set(node.name, node.name)
  const storeUser = new Map<string, string>()
  for (const node of nodes) {
    for (const p of node.parents) if (parent.has(p)) union(p, node.name)
    for (const store of node.stores) {
      const user = storeUser.get(store)
      if (user === undefined) storeUser.set(store, node.name)
      else union(user, node.name)
    }
  }
  const groups = new Map<string, PendingNode[]>()
  for (const node of nodes) {
    const root = find(node.name)
    const group = groups.get(root) ?? groups.set(root, []).get(root)
    group?.push(node)
  }
  return [...groups.values()]
    .sort((a, b) => (a[0] as PendingNode).index - (b[0] as PendingNode).index)
    .map((group, id) => ({
      id,
      nodes: group.map((n) => n.name),
      sourceTopics: group
        .filter((n) => n.kind === 'source')
        .flatMap((n) => n.topics.map((topic) => ({ topic, internal: n.internal }))),
      stores: [...new Set(group.flatMap((n) => n.stores))],
    }))
}

/**
 * Materialized.withChangelogTopic(): a key-value store that is logged, its topic no other store's, not
 * written by a sink too (the changelog writes every change there already) and not read by a source.
 */
function changelogTopicProblems(
  graph: GraphBuilder,
  stores: ReadonlyMap<string, StoreSpec>,
): TopologyError[] {
  const problems: TopologyError[] = []
  const owners = new Map<string, string>()
  for (const store of stores.values()) {
    const topic = store.changelogTopic
    if (topic === undefined) continue
    if (store.kind !== 'key-value') {
      problems.push(
        new TopologyError(
          'INVALID_ARGUMENT',
          `store ${store.name} is a ${store.kind} store: Materialized.withChangelogTopic() is for key-value stores (tables) only`,
          { subject: store.name },
        ),
      )
    }
    if (!store.loggingEnabled) {
      problems.push(
        new TopologyError(
          'INVALID_ARGUMENT',
          `store ${store.name} has logging disabled and a changelog topic (${topic}): drop one of withLoggingDisabled() and withChangelogTopic()`,
          { subject: store.name },
        ),
      )
    }
    const other = owners.get(topic)
    if (other !== undefined) {
      problems.push(
        new TopologyError(
          'INVALID_TOPOLOGY',
          `topic ${topic} is the changelog of both ${other} and ${store.name}: give each store its own`,
          { subject: topic },
        ),
      )
    }
    owners.set(topic, store.name)
  }
  // A source reading the topic, or a sink writing it too.
  const conflicts = {
    source: 'reads it: a store would write its changes into its own input; log it elsewhere',
    sink: "writes to it too: drop the sink (the changelog writes each of the table's changes there)",
  }
  for (const node of graph.nodes) {
    if (node.internal || node.kind === 'processor') continue
    for (const topic of node.topics) {
      const store = owners.get(topic)
      if (store === undefined) continue
      problems.push(
        new TopologyError(
          'INVALID_TOPOLOGY',
          `topic ${topic} is the changelog of store ${store}, and ${node.kind} ${node.name} ${conflicts[node.kind]}`,
          { subject: topic },
        ),
      )
    }
  }
  return problems
}
