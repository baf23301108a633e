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
  /**
   * Every entry whose end is in [endFrom, endTo], in the order of Kafka Streams' time-ordered stores
   * (what its emit-final iterates): by end, then start, then the serialized key (see sortByTime).
   */
  fetchByEnd(endFrom: number, endTo: number): TimedEntry<K, V>[]
  approximateNumEntries(): number
  /** An estimate of the memory the layer and those below it hold (store-bytes.ts). */
  approximateBytes(): number
  /** Moves the largest end observed, as a write with that end would, expiring what falls out of retention. */
  observe(end: number): void
  flush(): void
  close(): void
}

export type ExpiryListener<K> = (key: K, start: number, end: number) => void

/**
 * The innermost layer, which keeps the entries: it drives retention by the largest end written and tells
 * `onExpire` (the change-logging layer) of each entry it expires, except during restore.
 */
export interface BaseWindowLayer<K, V> extends WindowLayer<K, V> {
  readonly observedEnd: number
  onExpire: ExpiryListener<K> | undefined
  /**
   * The serialized value of the last put, when the layer keeps values serialized: the change-logging
   * layer sends these bytes instead of serializing the value a second time.
   */
  readonly lastPutBytes?: Buffer | null
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

/** A key as the store's key serde writes it: what Kafka Streams' byte-ordered stores sort keys by. */
export type KeyBytesOf<K> = (key: K) => Buffer

function compareTime(a: TimedEntry<unknown, unknown>, b: TimedEntry<unknown, unknown>): number {
  return a.end - b.end || a.start - b.start
}

/**
 * Sorts entries (in place) as Kafka Streams iterates its time-ordered stores: window stores are keyed
 * [start][serialized key][seqnum] (PrefixedWindowKeySchemas.TimeFirstWindowKeySchema), session stores
 * [end][start][serialized key] (PrefixedSessionKeySchemas.TimeFirstSessionKeySchema), both compared as
 * unsigned bytes. A window store's windows all have one size, so by end, then start, then the key's bytes
 * is both orders. (The seqnum after a window key never changes the order of two keys: of a key and its
 * own prefix the shorter still comes first.) Without a key serde, entries of one time keep their order.
 */
export function sortByTime<K, V>(
  entries: TimedEntry<K, V>[],
  keyBytes: KeyBytesOf<K> | undefined,
): TimedEntry<K, V>[] {
  let sorted = true
  for (let i = 1; i < entries.length; i++) {
    const c = compareTime(entries[i - 1] as TimedEntry<K, V>, entries[i] as TimedEntry<K, V>)
    if (c > 0 || (c === 0 && keyBytes !== undefined)) {
      sorted = false
      break
    }
  }
  if (sorted) return entries
  if (keyBytes === undefined) return entries.sort(compareTime) // stable
  const bytes = new Map<TimedEntry<K, V>, Buffer>()
  const bytesOf = (e: TimedEntry<K, V>): Buffer => {
    let b = bytes.get(e)
    if (b === undefined) {
      b = keyBytes(e.key)
      bytes.set(e, b)
    }
    return b
  }
  return entries.sort((a, b) => compareTime(a, b) || Buffer.compare(bytesOf(a), bytesOf(b)))
}
