// KTable value getters (Kafka Streams' KTableValueGetterSupplier): how a join reads a table by key at the
// state of the record being processed. A materialized table reads its store; a filter or mapValues table
// without a store of its own computes from its parent's getter; a join result from both sides' getters.
// The stores a getter reads must be connected to the processor that uses it (storeNames), which also puts
// that processor in the table's sub-topology.
import type { ProcessorContext } from '../../processor.js'
import type { ReadOnlyKeyValueStore, StateStore } from '../../state-store.js'

export interface TableValueGetter<K, V> {
  /** The table's current value for the key; null when absent. */
  get(key: K): V | null
}

export interface TableValueGetterSupplier<K, V> {
  readonly storeNames: readonly string[]
  /** Called from a processor's init() with its own context (connected to storeNames). */
  init(context: ProcessorContext<unknown, unknown>): TableValueGetter<K, V>
}

export function storeValueGetter<K, V>(storeName: string): TableValueGetterSupplier<K, V> {
  return {
    storeNames: [storeName],
    init(context) {
      const store = context.getStateStore<StateStore & ReadOnlyKeyValueStore<K, V>>(storeName)
      return { get: (key) => store.get(key) ?? null }
    },
  }
}

export function filterValueGetter<K, V>(
  parent: TableValueGetterSupplier<K, V>,
  predicate: (key: K, value: V) => boolean,
  negate: boolean,
): TableValueGetterSupplier<K, V> {
  return {
    storeNames: parent.storeNames,
    init(context) {
      const inner = parent.init(context)
      return {
        get(key) {
          const value = inner.get(key)
          return value !== null && predicate(key, value) !== negate ? value : null
        },
      }
    },
  }
}

export function mapValuesValueGetter<K, V, V2>(
  parent: TableValueGetterSupplier<K, V>,
  mapper: (value: V, key: K) => V2,
): TableValueGetterSupplier<K, V2> {
  return {
    storeNames: parent.storeNames,
    init(context) {
      const inner = parent.init(context)
      return {
        get(key) {
          const value = inner.get(key)
          return value === null ? null : mapper(value, key)
        },
      }
    },
  }
}

/** Which side must be present for a table-table join to have a row. */
export type TableJoinKind = 'inner' | 'left' | 'outer'

export function joinValueGetter<K, V1, V2, VR>(
  left: TableValueGetterSupplier<K, V1>,
  right: TableValueGetterSupplier<K, V2>,
  kind: TableJoinKind,
  joiner: (value: V1 | null, other: V2 | null, key: K) => VR,
): TableValueGetterSupplier<K, VR> {
  return {
    storeNames: [...new Set([...left.storeNames, ...right.storeNames])],
    init(context) {
      const l = left.init(context)
      const r = right.init(context)
      return {
        get(key) {
          const a = l.get(key)
          const b = r.get(key)
          const present =
            kind === 'inner'
              ? a !== null && b !== null
              : kind === 'left'
                ? a !== null
                : a !== null || b !== null
          return present ? joiner(a, b, key) : null
        },
      }
    },
  }
}
