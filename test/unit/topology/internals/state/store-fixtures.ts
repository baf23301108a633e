// Shared fixtures of the store-layer tests: a store environment with a buffering collector, a store
// spec, and a decoder of the changelog records collected.
import type { EngineMetrics } from '../../../../../topology/index.js'
import { NO_METRICS, Serdes } from '../../../../../topology/index.js'
import type { StoreSpec } from '../../../../../topology/internals/graph/topology-graph.js'
import { BufferingRecordCollector } from '../../../../../topology/internals/runtime/record-collector.js'
import type { CacheBudget } from '../../../../../topology/internals/state/cache-budget.js'
import type { StoreEnvironment } from '../../../../../topology/internals/state/store-environment.js'

export const str = Serdes.String()
export const long = Serdes.Long()

export function storeEnv(
  cacheMaxBytes = 1 << 20,
  metrics: EngineMetrics = NO_METRICS,
  cacheBudget?: CacheBudget,
) {
  const collector = new BufferingRecordCollector()
  const env: StoreEnvironment = {
    applicationId: 'app',
    taskId: '0_3',
    partition: 3,
    collector,
    recordContext: { current: { topic: 'in', partition: 3, offset: 7, timestamp: 1000, headers: new Map() } },
    metrics,
    cacheMaxBytes,
    ...(cacheBudget === undefined ? {} : { cacheBudget }),
  }
  return { env, collector }
}

export function storeSpec(over: Partial<StoreSpec> = {}): StoreSpec {
  return {
    kind: 'key-value',
    name: 'counts',
    keySerde: str as never,
    valueSerde: long as never,
    cachingEnabled: true,
    loggingEnabled: true,
    ...over,
  }
}

export const decodeChangelog = (c: BufferingRecordCollector) =>
  c
    .drain()
    .map((r) => [
      r.topic,
      r.partition,
      str.deserialize('', r.key as Buffer),
      r.value === null ? null : long.deserialize('', r.value),
    ])
