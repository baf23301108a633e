// How a DSL aggregation or table materializes its store: name, serdes, caching and change-logging.
// An immutable value: each `with...` returns a copy.
import { validateName } from './internals/graph/names.js'
import type { Serde } from './serdes.js'

export class Materialized<K, V> {
  private constructor(
    readonly storeName: string | undefined,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly cachingEnabled: boolean,
    readonly loggingEnabled: boolean,
  ) {}

  /** A store with an explicit, stable name: its changelog is `<applicationId>-<storeName>-changelog`. */
  static as<K, V>(storeName: string): Materialized<K, V> {
    return new Materialized<K, V>(validateName(storeName, 'Store'), undefined, undefined, true, true)
  }

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Materialized<K, V> {
    return new Materialized<K, V>(undefined, keySerde, valueSerde, true, true)
  }

  withKeySerde(keySerde: Serde<K>): Materialized<K, V> {
    return new Materialized(
      this.storeName,
      keySerde,
      this.valueSerde,
      this.cachingEnabled,
      this.loggingEnabled,
    )
  }

  withValueSerde(valueSerde: Serde<V>): Materialized<K, V> {
    return new Materialized(
      this.storeName,
      this.keySerde,
      valueSerde,
      this.cachingEnabled,
      this.loggingEnabled,
    )
  }

  /** Emit on every update instead of once per key per commit interval. */
  withCachingDisabled(): Materialized<K, V> {
    return new Materialized(this.storeName, this.keySerde, this.valueSerde, false, this.loggingEnabled)
  }

  withCachingEnabled(): Materialized<K, V> {
    return new Materialized(this.storeName, this.keySerde, this.valueSerde, true, this.loggingEnabled)
  }

  /** No changelog topic: the state is lost when the task moves. */
  withLoggingDisabled(): Materialized<K, V> {
    return new Materialized(this.storeName, this.keySerde, this.valueSerde, this.cachingEnabled, false)
  }
}
