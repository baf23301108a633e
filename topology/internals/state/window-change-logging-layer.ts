// Sends every write that reaches it to the store's changelog (a tombstone for a delete), and a tombstone
// for every entry the in-memory layer expires: the changelog then holds exactly the live entries and can
// be a plain `compact` topic, restored exactly whatever the age of the events (Kafka Streams instead
// relies on `compact,delete` with the broker's time retention, which drops old-event records early).
// A write the in-memory layer drops as expired is not logged.
import type { Serde } from '../../serdes.js'
import { NO_HEADERS } from '../../stream-record.js'
import { EMIT_CLOSE_MARKER_KEY, type EmitCloseMarker } from './emit-close-marker.js'
import type { StoreEnvironment } from './store-environment.js'
import type { ChangelogKeyCodec } from './window-changelog-key.js'
import type { BaseWindowLayer, TimedEntry, WindowLayer } from './window-layer.js'

export class WindowChangeLoggingLayer<K, V> implements WindowLayer<K, V> {
  constructor(
    private readonly inner: BaseWindowLayer<K, V>,
    private readonly topic: string,
    private readonly keyCodec: ChangelogKeyCodec<K>,
    private readonly valueSerde: Serde<V>,
    private readonly env: StoreEnvironment,
    private readonly marker?: EmitCloseMarker,
  ) {
    inner.onExpire = (key, start, end) => this.#log(key, start, end, null)
  }

  get name(): string {
    return this.inner.name
  }

  get(key: K, start: number, end: number): V | undefined {
    return this.inner.get(key, start, end)
  }

  put(key: K, start: number, end: number, value: V | null): boolean {
    const stored = this.inner.put(key, start, end, value)
    if (stored)
      this.#log(
        key,
        start,
        end,
        value === null ? null : (this.inner.lastPutBytes ?? this.valueSerde.serialize(this.topic, value)),
      )
    return stored
  }

  fetchKey(key: K): TimedEntry<K, V>[] {
    return this.inner.fetchKey(key)
  }

  fetchByEnd(endFrom: number, endTo: number): TimedEntry<K, V>[] {
    return this.inner.fetchByEnd(endFrom, endTo)
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }

  approximateBytes(): number {
    return this.inner.approximateBytes()
  }

  observe(end: number): void {
    this.inner.observe(end)
  }

  // The emit-final marker goes out with the flush, in the commit that also logs what was emitted.
  flush(): void {
    this.inner.flush()
    if (this.marker === undefined || !this.marker.takeDirty()) return
    this.env.collector.send({
      topic: this.topic,
      partition: this.env.partition,
      key: EMIT_CLOSE_MARKER_KEY,
      value: this.marker.encode(),
      timestamp: this.env.recordContext.current?.timestamp ?? 0,
      headers: NO_HEADERS,
    })
  }

  close(): void {
    this.inner.close()
  }

  #log(key: K, start: number, end: number, value: Buffer | null): void {
    const topic = this.topic
    this.env.collector.send({
      topic,
      partition: this.env.partition,
      key: this.keyCodec.encode(topic, key, start, end),
      value,
      timestamp: this.env.recordContext.current?.timestamp ?? 0,
      headers: NO_HEADERS,
    })
  }
}
