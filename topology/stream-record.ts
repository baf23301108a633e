// The record that flows between processors: key, value, timestamp and headers, immutable. One object per
// stage that changes something; stages that only look (filter, peek) forward the same object.

export type Headers = ReadonlyMap<string, Buffer>

/** The shared empty header map, so that records without headers allocate none. */
export const NO_HEADERS: Headers = new Map()

/** A key and a value, as returned by map(), flatMap() and groupBy() selectors. */
export type KeyValue<K, V> = readonly [key: K, value: V]

export class StreamRecord<K, V> {
  constructor(
    readonly key: K,
    readonly value: V,
    readonly timestamp: number,
    readonly headers: Headers = NO_HEADERS,
  ) {}

  withKey<K2>(key: K2): StreamRecord<K2, V> {
    return new StreamRecord(key, this.value, this.timestamp, this.headers)
  }

  withValue<V2>(value: V2): StreamRecord<K, V2> {
    return new StreamRecord(this.key, value, this.timestamp, this.headers)
  }

  withTimestamp(timestamp: number): StreamRecord<K, V> {
    return new StreamRecord(this.key, this.value, timestamp, this.headers)
  }

  withHeaders(headers: Headers): StreamRecord<K, V> {
    return new StreamRecord(this.key, this.value, this.timestamp, headers)
  }
}
