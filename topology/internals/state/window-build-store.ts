// The one place the layers of window and session stores are assembled, as build-key-value-store.ts does
// for key-value stores: metered -> caching -> change-logging -> in-memory or LMDB (when the task has an
// LMDB environment for windows, windowStateStore 'lmdb', and the store has both serdes), each optional
// layer as the spec says, plus the restore path that writes changelog records straight into the bottom
// layer.
import { TopologyError } from '../../errors.js'
import type { Serde } from '../../serdes.js'
import { changelogTopicName } from '../graph/names.js'
import type { StoreSpec } from '../graph/topology-graph.js'
import type { ChangelogRecord } from './build-key-value-store.js'
import { EmitCloseMarker, isEmitCloseMarkerKey } from './emit-close-marker.js'
import { keyIdFunction } from './key-id.js'
import { lmdbDatabaseName } from './lmdb-key-value-store.js'
import { LmdbWindowLayer } from './lmdb-window-layer.js'
import { MeteredSessionStore } from './session-metered-store.js'
import type { StoreEnvironment } from './store-environment.js'
import { ObjectValues, SerializedValues } from './value-slots.js'
import { WindowCachingLayer } from './window-caching-layer.js'
import { WindowChangeLoggingLayer } from './window-change-logging-layer.js'
import {
  type ChangelogKeyCodec,
  sessionChangelogKeyCodec,
  windowChangelogKeyCodec,
} from './window-changelog-key.js'
import { WindowInMemoryLayer } from './window-in-memory-layer.js'
import type { BaseWindowLayer, WindowLayer } from './window-layer.js'
import { MeteredWindowStore } from './window-metered-store.js'

/** A window store's spec: a StoreSpec plus the window size and how long windows are kept. */
export interface WindowStoreSpec extends Omit<StoreSpec, 'kind'> {
  /** Implied by the builder; optional so that processor tests can build a store from a plain object. */
  readonly kind?: 'window'
  readonly windowSizeMs: number
  /** At least size + grace for an aggregation's store (Kafka Streams refuses less). */
  readonly retentionMs: number
}

/** A session store's spec: a StoreSpec plus how long sessions are kept after their end. */
export interface SessionStoreSpec extends Omit<StoreSpec, 'kind'> {
  readonly kind?: 'session'
  /** At least gap + grace for an aggregation's store. */
  readonly retentionMs: number
}

export interface BuiltWindowedStore<S> {
  readonly store: S
  /** Undefined when logging is off: such a store starts empty. */
  readonly changelogTopic: string | undefined
  restore(records: Iterable<ChangelogRecord>): number
  /** Once the restore is done or skipped: a store in LMDB reads its largest end and marker back. */
  afterRestore(): void
  hasDirtyEntries(): boolean
}

const EMPTY_KEY = Buffer.alloc(0)

interface Layers<K, V> {
  readonly top: WindowLayer<K, V>
  readonly cache: WindowCachingLayer<K, V> | undefined
  readonly marker: EmitCloseMarker
  readonly persistent: boolean
  readonly built: Omit<BuiltWindowedStore<unknown>, 'store'>
}

function assemble<K, V>(
  spec: Omit<StoreSpec, 'kind'>,
  env: StoreEnvironment,
  retentionMs: number,
  codecFor: (serde: Serde<K>) => ChangelogKeyCodec<K>,
): Layers<K, V> {
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 0) {
    throw new TopologyError(
      'INVALID_ARGUMENT',
      `store ${spec.name}: retention must be >= 0 ms, got ${retentionMs}`,
      {
        subject: spec.name,
      },
    )
  }
  const changelogTopic = spec.loggingEnabled ? changelogTopicName(env.applicationId, spec.name) : undefined
  const keySerde = spec.keySerde as Serde<K> | undefined
  const valueSerde = spec.valueSerde as Serde<V> | undefined
  const keyTopic = changelogTopic ?? spec.name
  const keyId = keyIdFunction<K>(keySerde, keyTopic)
  // Reads by time order keys by their serialized bytes, as Kafka Streams' stores do (window-layer.ts).
  const keyBytes =
    keySerde === undefined ? undefined : (key: K) => keySerde.serialize(keyTopic, key) ?? EMPTY_KEY
  const marker = new EmitCloseMarker()
  // With both serdes and an LMDB environment for windows the entries live in LMDB; otherwise in memory,
  // with a value serde kept serialized (value-slots.ts), without one (an unlogged store built without
  // serdes) as objects.
  const lmdb =
    env.lmdb !== undefined && env.lmdbWindows === true && keySerde !== undefined && valueSerde !== undefined
      ? new LmdbWindowLayer<K, V>(
          spec.name,
          env.lmdb,
          lmdbDatabaseName(env.taskId, spec.name),
          keyId,
          keySerde,
          valueSerde,
          keyTopic,
          retentionMs,
          marker,
        )
      : undefined
  const serialized =
    valueSerde === undefined || lmdb !== undefined
      ? undefined
      : new WindowInMemoryLayer<K, V, Buffer>(
          spec.name,
          keyId,
          retentionMs,
          new SerializedValues(valueSerde, keyTopic),
          keyBytes,
        )
  const restorable = lmdb ?? serialized
  const memory: BaseWindowLayer<K, V> =
    restorable ?? new WindowInMemoryLayer(spec.name, keyId, retentionMs, new ObjectValues<V>(), keyBytes)
  let top: WindowLayer<K, V> = memory
  let codec: ChangelogKeyCodec<K> | undefined
  if (changelogTopic !== undefined) {
    if (keySerde === undefined || valueSerde === undefined) {
      throw new TopologyError('MISSING_SERDE', `store ${spec.name} is logged but has no serdes`, {
        subject: spec.name,
      })
    }
    codec = codecFor(keySerde)
    top = new WindowChangeLoggingLayer<K, V>(memory, changelogTopic, codec, valueSerde, env, marker)
  }
  let cache: WindowCachingLayer<K, V> | undefined
  if (spec.cachingEnabled && env.cacheMaxBytes > 0) {
    cache = new WindowCachingLayer<K, V>(
      top,
      keyId,
      env,
      env.cacheMaxBytes,
      {
        ms: retentionMs,
        innerObservedEnd: () => memory.observedEnd,
      },
      keyBytes,
    )
    top = cache
  }
  return {
    top,
    cache,
    marker,
    persistent: lmdb !== undefined,
    built: {
      changelogTopic,
      afterRestore: () => lmdb?.loadAfterRestore(),
      hasDirtyEntries: () => (cache?.dirtyCount ?? 0) > 0,
      restore(records) {
        if (changelogTopic === undefined || codec === undefined) return 0
        let count = 0
        for (const record of records) {
          if (record.key === null) continue
          if (isEmitCloseMarkerKey(record.key)) {
            marker.restore(record.value)
            continue
          }
          const { key, start, end } = codec.decode(changelogTopic, record.key)
          restorable?.restore(key, start, end, record.value)
          count++
        }
        lmdb?.flush()
        return count
      },
    },
  }
}

export function buildWindowStore<K, V>(
  spec: WindowStoreSpec,
  env: StoreEnvironment,
): BuiltWindowedStore<MeteredWindowStore<K, V>> {
  // Size 0 is a sliding window store of time difference 0 (windows [t, t]), which Kafka allows.
  if (!Number.isSafeInteger(spec.windowSizeMs) || spec.windowSizeMs < 0) {
    throw new TopologyError('INVALID_ARGUMENT', `store ${spec.name}: window size must be >= 0 ms`, {
      subject: spec.name,
    })
  }
  const layers = assemble<K, V>(spec, env, spec.retentionMs, (serde) =>
    windowChangelogKeyCodec(serde, spec.windowSizeMs),
  )
  const store = new MeteredWindowStore<K, V>(
    layers.top,
    env.metrics,
    layers.cache,
    spec.windowSizeMs,
    spec.retentionMs,
    layers.marker,
    layers.persistent,
  )
  return { store, ...layers.built }
}

export function buildSessionStore<K, V>(
  spec: SessionStoreSpec,
  env: StoreEnvironment,
): BuiltWindowedStore<MeteredSessionStore<K, V>> {
  const layers = assemble<K, V>(spec, env, spec.retentionMs, (serde) => sessionChangelogKeyCodec(serde))
  const store = new MeteredSessionStore<K, V>(
    layers.top,
    env.metrics,
    layers.cache,
    spec.retentionMs,
    layers.marker,
    layers.persistent,
  )
  return { store, ...layers.built }
}
