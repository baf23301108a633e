// The contract between the layers of window and session stores (metered -> caching -> change-logging ->
// in-memory). One generic shape serves both: an entry is keyed by (key, start, end); a window store's end
// is start + size. Retention counts on the end: an entry expires once end <= (largest end written) -
// retention, which for fixed-size windows is Kafka Streams' rule on the start.

export interface TimedEntry<K, V> {
  readonly key: K
  readonly start: number
  readonly end: number
  readonly value: V
}

export interface WindowLayer<K, V> {
  readonly name: string
  get(key: K, start: number, end: number): V | undefined
  /** `null` deletes. Returns false when the entry had expired and the write was dropped. */
  put(key: K, start: number, end: number, value: V | null): boolean
  /** Every entry of one key, ascending by start then end. */
  fetchKey(key: K): TimedEntry<K, V>[]
  /** Every entry whose end is in [endFrom, endTo], ascending by end. */
  fetchByEnd(endFrom: number, endTo: number): TimedEntry<K, V>[]
  approximateNumEntries(): number
  /** Moves the largest end observed, as a write with that end would, expiring what falls out of retention. */
  observe(end: number): void
  flush(): void
  close(): void
}

/** Told about each entry a cache writes through: what a processor forwards on flush. */
export type WindowFlushListener<K, V> = (
  key: K,
  start: number,
  end: number,
  newValue: V | null,
  oldValue: V | null,
  timestamp: number,
) => void

export function compareEntries(a: TimedEntry<unknown, unknown>, b: TimedEntry<unknown, unknown>): number {
  return a.start - b.start || a.end - b.end
}
