// How a DSL aggregation or table materializes its store: name, serdes, caching, change-logging and, for
// windowed aggregations, retention. An immutable value: each `with...` returns a copy.
import { validateName } from './internals/graph/names.js'
import type { Serde } from './serdes.js'
import { requireMillis } from './windows/duration.js'

interface MaterializedFields<K, V> {
  readonly storeName: string | undefined
  readonly keySerde: Serde<K> | undefined
  readonly valueSerde: Serde<V> | undefined
  readonly cachingEnabled: boolean
  readonly loggingEnabled: boolean
  readonly retentionMs: number | undefined
}

export class Materialized<K, V> implements MaterializedFields<K, V> {
  readonly storeName: string | undefined
  readonly keySerde: Serde<K> | undefined
  readonly valueSerde: Serde<V> | undefined
  readonly cachingEnabled: boolean
  readonly loggingEnabled: boolean
  /** Windowed stores only: how long windows are kept; undefined is the windows' default (size + grace). */
  readonly retentionMs: number | undefined

  private constructor(fields: MaterializedFields<K, V>) {
    this.storeName = fields.storeName
    this.keySerde = fields.keySerde
    this.valueSerde = fields.valueSerde
    this.cachingEnabled = fields.cachingEnabled
    this.loggingEnabled = fields.loggingEnabled
    this.retentionMs = fields.retentionMs
  }

  /** A store with an explicit, stable name: its changelog is `<applicationId>-<storeName>-changelog`. */
  static as<K, V>(storeName: string): Materialized<K, V> {
    return new Materialized<K, V>({ ...DEFAULTS, storeName: validateName(storeName, 'Store') })
  }

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Materialized<K, V> {
    return new Materialized<K, V>({ ...DEFAULTS, keySerde, valueSerde })
  }

  withKeySerde(keySerde: Serde<K>): Materialized<K, V> {
    return new Materialized({ ...this, keySerde })
  }

  withValueSerde(valueSerde: Serde<V>): Materialized<K, V> {
    return new Materialized({ ...this, valueSerde })
  }

  /** Emit on every update instead of once per key per commit interval. */
  withCachingDisabled(): Materialized<K, V> {
    return new Materialized({ ...this, cachingEnabled: false })
  }

  withCachingEnabled(): Materialized<K, V> {
    return new Materialized({ ...this, cachingEnabled: true })
  }

  /** No changelog topic: the state is lost when the task moves. */
  withLoggingDisabled(): Materialized<K, V> {
    return new Materialized({ ...this, loggingEnabled: false })
  }

  /**
   * Windowed aggregations: keep windows this long (by stream time) after they start, e.g. to query them
   * later. It must be at least window size + grace (session windows: gap + grace), else build() fails,
   * as in Kafka Streams.
   */
  withRetention(retentionMs: number): Materialized<K, V> {
    return new Materialized({ ...this, retentionMs: requireMillis(retentionMs, 'retention', 0) })
  }
}

const DEFAULTS: MaterializedFields<never, never> = {
  storeName: undefined,
  keySerde: undefined,
  valueSerde: undefined,
  cachingEnabled: true,
  loggingEnabled: true,
  retentionMs: undefined,
}
