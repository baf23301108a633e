// The one place the layers of a key-value store are assembled: metered -> caching -> change-logging ->
// in-memory (values serialized, or objects without a value serde) or LMDB (when the task has an LMDB
// environment and the store has both serdes), each optional layer as the spec says. It also returns
// the restore path, which writes changelog records straight into the bottom store, past the cache and
// the logging.
import { TopologyError } from '../../errors.js'
import type { Serde } from '../../serdes.js'
import { storeChangelogTopic } from '../graph/names.js'
import type { StoreSpec } from '../graph/topology-graph.js'
import { CachingKeyValueStore } from './caching-key-value-store.js'
import { ChangeLoggingKeyValueStore } from './change-logging-key-value-store.js'
import { InMemoryKeyValueStore } from './in-memory-key-value-store.js'
import { keyIdFunction } from './key-id.js'
import type { KeyValueLayer } from './key-value-layer.js'
import { LmdbKeyValueStore, lmdbDatabaseName } from './lmdb-key-value-store.js'
import { MeteredKeyValueStore } from './metered-key-value-store.js'
import type { StoreEnvironment } from './store-environment.js'
import { ObjectValues, SerializedValues } from './value-slots.js'

/** A changelog record as read back from the topic. */
export interface ChangelogRecord {
  readonly key: Buffer | null
  readonly value: Buffer | null
}

export interface BuiltKeyValueStore<K, V> {
  readonly store: MeteredKeyValueStore<K, V>
  /** Undefined when logging is off: such a store starts empty. */
  readonly changelogTopic: string | undefined
  restore(records: Iterable<ChangelogRecord>): number
  /** The value serde's prepare (Serde.prepare) over the records' values, when it has one. */
  prepareRestore?(records: readonly ChangelogRecord[]): Promise<void>
  hasDirtyEntries(): boolean
}

export function buildKeyValueStore<K, V>(spec: StoreSpec, env: StoreEnvironment): BuiltKeyValueStore<K, V> {
  const changelogTopic = spec.loggingEnabled ? storeChangelogTopic(env.applicationId, spec) : undefined
  const keySerde = spec.keySerde as Serde<K> | undefined
  const valueSerde = spec.valueSerde as Serde<V> | undefined
  // With a value serde the values are kept serialized (value-slots.ts), in LMDB when the task has an
  // environment for it and the key has a serde too; without one (an unlogged store built without serdes)
  // as objects in memory.
  const topic = changelogTopic ?? spec.name
  const keyId = keyIdFunction<K>(keySerde, topic)
  const serialized =
    valueSerde === undefined
      ? undefined
      : env.lmdb !== undefined && keySerde !== undefined
        ? new LmdbKeyValueStore<K, V>(
            spec.name,
            env.lmdb,
            lmdbDatabaseName(env.taskId, spec.name),
            keyId,
            keySerde,
            valueSerde,
            topic,
          )
        : new InMemoryKeyValueStore<K, V, Buffer>(spec.name, keyId, new SerializedValues(valueSerde, topic))
  let layer: KeyValueLayer<K, V> =
    serialized ?? new InMemoryKeyValueStore(spec.name, keyId, new ObjectValues<V>())
  if (changelogTopic !== undefined) {
    if (keySerde === undefined || valueSerde === undefined) {
      throw new TopologyError('MISSING_SERDE', `store ${spec.name} is logged but has no serdes`, {
        subject: spec.name,
      })
    }
    layer = new ChangeLoggingKeyValueStore<K, V>(layer, changelogTopic, keySerde, valueSerde, env)
  }
  let cache: CachingKeyValueStore<K, V> | undefined
  if (spec.cachingEnabled && env.cacheMaxBytes > 0) {
    cache = new CachingKeyValueStore<K, V>(layer, keyId, env, env.cacheMaxBytes)
    layer = cache
  }
  const store = new MeteredKeyValueStore<K, V>(layer, env.metrics, cache)
  return {
    store,
    changelogTopic,
    hasDirtyEntries: () => (cache?.dirtyCount ?? 0) > 0,
    ...(changelogTopic !== undefined && valueSerde?.prepare !== undefined
      ? {
          prepareRestore: (records: readonly ChangelogRecord[]) =>
            (valueSerde.prepare as NonNullable<Serde<V>['prepare']>)(
              changelogTopic,
              records.flatMap((r) => (r.value === null ? [] : [r.value])),
            ),
        }
      : {}),
    restore(records) {
      // A logged store has serdes, so its values are kept serialized: changelog bytes go in as they are.
      if (changelogTopic === undefined || serialized === undefined) return 0
      let count = 0
      for (const record of records) {
        if (record.key === null) continue
        serialized.restore((keySerde as Serde<K>).deserialize(changelogTopic, record.key), record.value)
        count++
      }
      serialized.flush()
      return count
    },
  }
}
