// describe(): the topology as text in the layout of Kafka Streams' TopologyDescription (so that people
// who know it can read it) and as a Mermaid flowchart for docs and the API.
import type { NodeSpec, SubtopologySpec, TopologyGraph } from '../graph/topology-graph.js'

export interface TopologyDescription {
  readonly subtopologies: readonly SubtopologyDescription[]
  toString(): string
  toMermaid(): string
}

export interface SubtopologyDescription {
  readonly id: number
  readonly nodes: readonly NodeSpec[]
}

export function describeTopology(graph: TopologyGraph): TopologyDescription {
  const subtopologies = graph.subtopologies.map((s) => ({ id: s.id, nodes: nodesOf(graph, s) }))
  return {
    subtopologies,
    toString: () => describeText(graph, subtopologies),
    toMermaid: () => describeMermaid(graph, subtopologies),
  }
}

function nodesOf(graph: TopologyGraph, sub: SubtopologySpec): NodeSpec[] {
  return sub.nodes.map((n) => graph.nodes.get(n)).filter((n): n is NodeSpec => n !== undefined)
}

// A store that logs into a topic of the user's (Materialized.withChangelogTopic) writes there as a sink
// would: shown once, under the first processor that uses the store.
function userChangelogs(graph: TopologyGraph): (node: NodeSpec) => [string, string][] {
  const shown = new Set<string>()
  return (node) => {
    if (node.kind !== 'processor') return []
    const out: [string, string][] = []
    for (const store of node.stores) {
      const topic = graph.stores.get(store)?.changelogTopic
      if (topic === undefined || shown.has(store)) continue
      shown.add(store)
      out.push([store, topic])
    }
    return out
  }
}

function describeText(graph: TopologyGraph, subtopologies: readonly SubtopologyDescription[]): string {
  const changelogsOf = userChangelogs(graph)
  const lines = ['Topologies:']
  for (const sub of subtopologies) {
    lines.push(`   Sub-topology: ${sub.id}`)
    for (const node of sub.nodes) {
      if (node.kind === 'source') lines.push(`    Source: ${node.name} (topics: [${node.topics.join(', ')}])`)
      else if (node.kind === 'processor')
        lines.push(`    Processor: ${node.name} (stores: [${node.stores.join(', ')}])`)
      else lines.push(`    Sink: ${node.name} (topic: ${node.topic})`)
      if (node.kind !== 'sink')
        lines.push(`      --> ${node.children.length === 0 ? 'none' : node.children.join(', ')}`)
      if (node.kind !== 'source') lines.push(`      <-- ${node.parents.join(', ')}`)
      for (const [store, topic] of changelogsOf(node))
        lines.push(`      store ${store} logs to topic: ${topic}`)
    }
    lines.push('')
  }
  return `${lines.join('\n')}\n`
}

function describeMermaid(graph: TopologyGraph, subtopologies: readonly SubtopologyDescription[]): string {
  // Nodes get their creation index, topics and stores their order of appearance: stable ids.
  const ids = new Map<string, string>()
  const counts = { t: 0, s: 0 }
  const nodeIndex = new Map([...graph.nodes.values()].map((n) => [n.name, n.index]))
  const id = (kind: 'n' | 't' | 's', name: string): string => {
    if (kind === 'n') return `n${nodeIndex.get(name)}`
    const key = `${kind}:${name}`
    let value = ids.get(key)
    if (value === undefined) {
      value = `${kind}${counts[kind]++}`
      ids.set(key, value)
    }
    return value
  }
  const changelogsOf = userChangelogs(graph)
  const lines = ['flowchart TD']
  const edges: string[] = []
  for (const sub of subtopologies) {
    lines.push(`  subgraph sub${sub.id}["Sub-topology ${sub.id}"]`)
    for (const node of sub.nodes) {
      lines.push(`    ${id('n', node.name)}["${node.name}"]`)
      for (const child of node.children) edges.push(`  ${id('n', node.name)} --> ${id('n', child)}`)
      if (node.kind === 'source')
        for (const t of node.topics) edges.push(`  ${id('t', t)} --> ${id('n', node.name)}`)
      if (node.kind === 'sink') edges.push(`  ${id('n', node.name)} --> ${id('t', node.topic)}`)
      if (node.kind === 'processor')
        for (const s of node.stores) edges.push(`  ${id('n', node.name)} --- ${id('s', s)}`)
      for (const [store, topic] of changelogsOf(node))
        edges.push(`  ${id('s', store)} -. changelog .-> ${id('t', topic)}`)
    }
    lines.push('  end')
  }
  for (const [key, value] of ids) {
    const [kind, name] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)]
    if (kind === 't') lines.push(`  ${value}[/"${name}"/]`)
    if (kind === 's') lines.push(`  ${value}[("${name}")]`)
  }
  return `${[...lines, ...edges].join('\n')}\n`
}
