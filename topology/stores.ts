// Store builders users add with builder.addStateStore() for their own processors. An immutable value;
// the layers it describes are assembled in one place (internals/state/build-key-value-store.ts).
import { validateName } from './internals/graph/names.js'
import type { Serde } from './serdes.js'

export class KeyValueStoreBuilder<K, V> {
  constructor(
    readonly name: string,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly cachingEnabled: boolean,
    readonly loggingEnabled: boolean,
  ) {
    validateName(name, 'Store')
  }

  withCachingDisabled(): KeyValueStoreBuilder<K, V> {
    return new KeyValueStoreBuilder(this.name, this.keySerde, this.valueSerde, false, this.loggingEnabled)
  }

  withCachingEnabled(): KeyValueStoreBuilder<K, V> {
    return new KeyValueStoreBuilder(this.name, this.keySerde, this.valueSerde, true, this.loggingEnabled)
  }

  withLoggingDisabled(): KeyValueStoreBuilder<K, V> {
    return new KeyValueStoreBuilder(this.name, this.keySerde, this.valueSerde, this.cachingEnabled, false)
  }
}

export const Stores = {
  /** An in-memory key-value store, logged, with caching off by default as in Kafka Streams' Stores. */
  keyValueStoreBuilder<K, V>(
    name: string,
    keySerde?: Serde<K>,
    valueSerde?: Serde<V>,
  ): KeyValueStoreBuilder<K, V> {
    return new KeyValueStoreBuilder(name, keySerde, valueSerde, false, true)
  },
} as const
