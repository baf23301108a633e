// Sends every write that reaches it to the store's changelog topic (a tombstone for a delete), through the
// task's collector, which the Kafka runtime produces in the commit's transaction. Under a cache it sees one
// write per key per commit interval. A value the store below already serialized is sent as it is.
import type { Serde } from '../../serdes.js'
import { NO_HEADERS } from '../../stream-record.js'
import type { KeyValueLayer } from './key-value-layer.js'
import type { StoreEnvironment } from './store-environment.js'

export class ChangeLoggingKeyValueStore<K, V> implements KeyValueLayer<K, V> {
  constructor(
    private readonly inner: KeyValueLayer<K, V>,
    private readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly env: StoreEnvironment,
  ) {}

  /** Whether the store at the bottom keeps its entries on disk. */
  get persistent(): boolean {
    return this.inner.persistent
  }

  get name(): string {
    return this.inner.name
  }

  get(key: K): V | undefined {
    return this.inner.get(key)
  }

  put(key: K, value: V | null): void {
    this.inner.put(key, value)
    this.#log(
      key,
      value === null ? null : (this.inner.lastPutBytes ?? this.valueSerde.serialize(this.topic, value)),
    )
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const old = this.inner.get(key)
    if (old === undefined) this.put(key, value)
    return old
  }

  delete(key: K): V | undefined {
    const old = this.inner.delete(key)
    this.#log(key, null)
    return old
  }

  all(): IterableIterator<[K, V]> {
    return this.inner.all()
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }

  approximateBytes(): number {
    return this.inner.approximateBytes()
  }

  flush(): void {
    this.inner.flush()
  }

  close(): void {
    this.inner.close()
  }

  #log(key: K, value: Buffer | null): void {
    const topic = this.topic
    this.env.collector.send({
      topic,
      partition: this.env.partition,
      key: this.keySerde.serialize(topic, key),
      value,
      timestamp: this.env.recordContext.current?.timestamp ?? 0,
      headers: NO_HEADERS,
    })
  }
}
