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
  readonly changelogTopic: string | undefined
}

export class Materialized<K, V> implements MaterializedFields<K, V> {
  readonly storeName: string | undefined
  readonly keySerde: Serde<K> | undefined
  readonly valueSerde: Serde<V> | undefined
  readonly cachingEnabled: boolean
  readonly loggingEnabled: boolean
  /** Windowed stores only: how long windows are kept; undefined is the windows' default (size + grace). */
  readonly retentionMs: number | undefined
  /** A topic of the user's that serves as the changelog (withChangelogTopic); undefined: the internal one. */
  readonly changelogTopic: string | undefined

  private constructor(fields: MaterializedFields<K, V>) {
    this.storeName = fields.storeName
    this.keySerde = fields.keySerde
    this.valueSerde = fields.valueSerde
    this.cachingEnabled = fields.cachingEnabled
    this.loggingEnabled = fields.loggingEnabled
    this.retentionMs = fields.retentionMs
    this.changelogTopic = fields.changelogTopic
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

  /**
   * Key-value stores: log the store's changes into `topic`, a topic of yours, instead of the internal
   * `<applicationId>-<storeName>-changelog`, so that a table's output topic is also its changelog and
   * each change is written once, not twice. The topic then receives the store's changelog: one record
   * per key and commit interval (after the cache), key and value in the store's serdes, on the task's
   * partition, in the commit's transaction, without headers. Drop the `toStream().to(topic)` that wrote
   * the table there: build() refuses both. The runtime does not create the topic: it must exist,
   * compacted, with one partition per task (as many as the topics the table reads have), and nothing
   * else may write to it, since a task restores its store by reading its partition from the start.
   * The application reset writes a tombstone for every key in it (a compacted topic refuses
   * DeleteRecords), so that a replay rebuilds the store from the input, not from the results of the
   * run before; its readers see those tombstones, then the replay's values.
   */
  withChangelogTopic(topic: string): Materialized<K, V> {
    return new Materialized({ ...this, changelogTopic: validateName(topic, 'Changelog topic') })
  }
}

const DEFAULTS: MaterializedFields<never, never> = {
  storeName: undefined,
  keySerde: undefined,
  valueSerde: undefined,
  cachingEnabled: true,
  loggingEnabled: true,
  retentionMs: undefined,
  changelogTopic: undefined,
}
