// Shared fixtures of the store-layer tests: a store environment with a buffering collector, a store
// spec, a decoder of the changelog records collected, and a model of a bottom store (a plain Map).
import fc from 'fast-check'
import type { EngineMetrics } from '../../../../../topology/index.js'
import { NO_METRICS, Serdes } from '../../../../../topology/index.js'
import type { StoreSpec } from '../../../../../topology/internals/graph/topology-graph.js'
import { BufferingRecordCollector } from '../../../../../topology/internals/runtime/record-collector.js'
import type { CacheBudget } from '../../../../../topology/internals/state/cache-budget.js'
import type { KeyValueLayer } from '../../../../../topology/internals/state/key-value-layer.js'
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

// A model-based check of a bottom store: random writes and reads, and what a plain Map does with them.
export type Op =
  | { op: 'put'; key: string; value: string | null }
  | { op: 'putIfAbsent'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'get'; key: string }
  | { op: 'all' }

const key = fc.constantFrom('a', 'b', 'c', 'dd', 'é', '')
const value = fc.string({ maxLength: 60 })
export const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ op: fc.constant('put' as const), key, value: fc.option(value, { freq: 4 }) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('putIfAbsent' as const), key, value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
    { weight: 1, arbitrary: fc.constant({ op: 'all' as const }) },
  ),
  { maxLength: 400, size: 'max' },
)

/** What the store must do, as a plain Map. */
export function model(list: readonly Op[]): unknown[] {
  const map = new Map<string, string>()
  const seen: unknown[] = []
  for (const o of list) {
    if (o.op === 'put') o.value === null ? map.delete(o.key) : map.set(o.key, o.value)
    else if (o.op === 'putIfAbsent') {
      seen.push(map.get(o.key))
      if (!map.has(o.key)) map.set(o.key, o.value)
    } else if (o.op === 'delete') {
      seen.push(map.get(o.key))
      map.delete(o.key)
    } else if (o.op === 'get') seen.push(map.get(o.key))
    else seen.push([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    seen.push(map.size)
  }
  return seen
}

export function run(store: KeyValueLayer<string, string>, list: readonly Op[]): unknown[] {
  const seen: unknown[] = []
  for (const o of list) {
    if (o.op === 'put') store.put(o.key, o.value)
    else if (o.op === 'putIfAbsent') seen.push(store.putIfAbsent(o.key, o.value))
    else if (o.op === 'delete') seen.push(store.delete(o.key))
    else if (o.op === 'get') seen.push(store.get(o.key))
    // Iteration order is not part of the contract: compared sorted.
    else seen.push([...store.all()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    seen.push(store.approximateNumEntries())
  }
  return seen
}
