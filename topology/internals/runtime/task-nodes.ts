// Instantiates the nodes of one sub-topology for one task: a processor per node (from its supplier, so
// each task has its own), source and sink processors with their serdes, one context per node wired to
// its children, and an input queue per source topic partition.
import { TopologyError } from '../../errors.js'
import { repartitionTopicName } from '../graph/names.js'
import type { SubtopologySpec, TopologyGraph } from '../graph/topology-graph.js'
import { SinkProcessor } from '../processors/sink-processor.js'
import { SourceProcessor } from '../processors/source-processor.js'
import type { BadRecordHandler } from './bad-record-handler.js'
import { NodeContext, type ProcessorNode, type TaskServices } from './node-context.js'
import type { PartitionGroup } from './partition-group.js'
import type { RecordCollector } from './record-collector.js'

export interface TaskNodeOptions {
  readonly applicationId: string
  readonly partition: number
  readonly collector: RecordCollector
  readonly badRecords: BadRecordHandler
}

export function createTaskNodes(
  graph: TopologyGraph,
  sub: SubtopologySpec,
  options: TaskNodeOptions,
  services: TaskServices,
  partitions: PartitionGroup<SourceProcessor>,
): ProcessorNode[] {
  const { applicationId, partition, collector, badRecords } = options
  const nodes: ProcessorNode[] = []
  const byName = new Map<string, ProcessorNode>()
  for (const name of sub.nodes) {
    const spec = graph.nodes.get(name)
    if (spec === undefined)
      throw new TopologyError('INVALID_TOPOLOGY', `sub-topology ${sub.id} lists unknown node ${name}`)
    const context = new NodeContext<unknown, unknown>(
      services,
      name,
      new Set(spec.kind === 'processor' ? spec.stores : []),
    )
    let node: ProcessorNode
    if (spec.kind === 'source') {
      const source = new SourceProcessor(
        name,
        spec.keySerde,
        spec.valueSerde,
        badRecords,
        spec.timestampExtractor,
      )
      node = { name, processor: source, context }
      for (const topic of spec.topics) {
        partitions.addPartition(
          spec.internal ? repartitionTopicName(applicationId, topic) : topic,
          partition,
          source,
        )
      }
    } else if (spec.kind === 'sink') {
      const topic = spec.internal ? repartitionTopicName(applicationId, spec.topic) : spec.topic
      node = {
        name,
        processor: new SinkProcessor(name, topic, spec.keySerde, spec.valueSerde, collector),
        context,
      }
    } else {
      node = { name, processor: spec.supplier(), context }
    }
    byName.set(name, node)
    nodes.push(node)
  }
  for (const node of nodes) {
    const children = graph.nodes.get(node.name)?.children ?? []
    node.context.children = children.map((child) => byName.get(child)).filter((n) => n !== undefined)
  }
  return nodes
}
