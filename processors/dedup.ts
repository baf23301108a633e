// Data quality, first rule: producers retry, so the same event (same `event_id`) can arrive twice.
// Within a horizon of event time, a second copy is dropped and counted. Duplicates have the same key
// (the entity id), so both copies reach the same task.
//
// The ids seen are kept by second of event time: a logged, cached store maps each second to the ids of
// that second, and the processor keeps an index of every id beside it (rebuilt from the store at start).
// So the changelog gets one record per second touched and commit, not one per event, and one tombstone
// per second once it falls out of the horizon instead of one per id. A stream-time punctuator expires
// the seconds whose every id is older than the horizon: an id is remembered up to 1 s longer.
import {
  type KeyValueStore,
  type KStream,
  type Processor,
  type ProcessorContext,
  type Serde,
  Serdes,
  Stores,
  type StreamRecord,
  type StreamsBuilder,
} from '../topology/index.js'

export interface DedupOptions<K, V> {
  /** Names the processor and its store (`<name>-seen-id-buckets`). */
  readonly name: string
  readonly keySerde: Serde<K>
  /** How long (event time) an id is remembered. */
  readonly horizonMs: number
  readonly eventId: (value: V) => string
  readonly eventTime: (value: V) => number
  /** Called once per dropped duplicate (a metric, a log line). */
  readonly onDuplicate?: (key: K, value: V) => void
}

/** Ids are kept per this much event time (or per horizon, if it is shorter). */
const BUCKET_MS = 1000

class DedupProcessor<K, V> implements Processor<K, V, K, V> {
  #context!: ProcessorContext<K, V>
  #store!: KeyValueStore<number, string[]>
  /** Every id remembered, to the start of its bucket. */
  readonly #seen = new Map<string, number>()
  /** The ids of each bucket: the arrays the store is given (they only grow until the bucket expires). */
  readonly #buckets = new Map<number, string[]>()
  readonly #bucketMs: number

  constructor(
    private readonly storeName: string,
    private readonly options: DedupOptions<K, V>,
  ) {
    this.#bucketMs = Math.min(BUCKET_MS, options.horizonMs)
  }

  init(context: ProcessorContext<K, V>): void {
    this.#context = context
    this.#store = context.getStateStore<KeyValueStore<number, string[]>>(this.storeName)
    for (const [bucket, ids] of this.#store.all()) {
      this.#buckets.set(bucket, ids)
      for (const id of ids) this.#seen.set(id, bucket)
    }
    const every = Math.max(1000, Math.floor(this.options.horizonMs / 10))
    context.schedule(every, 'stream-time', (streamTime) => this.#expire(streamTime - this.options.horizonMs))
  }

  process(record: StreamRecord<K, V>): void {
    if (record.value === null || record.value === undefined) {
      this.#context.forward(record)
      return
    }
    const id = this.options.eventId(record.value)
    if (this.#seen.has(id)) {
      this.options.onDuplicate?.(record.key, record.value)
      return
    }
    const time = this.options.eventTime(record.value)
    const bucket = Math.floor(time / this.#bucketMs) * this.#bucketMs
    let ids = this.#buckets.get(bucket)
    if (ids === undefined) {
      ids = []
      this.#buckets.set(bucket, ids)
    }
    ids.push(id)
    // The same array again: the cache keeps the latest and the changelog gets it at the commit.
    this.#store.put(bucket, ids)
    this.#seen.set(id, bucket)
    this.#context.forward(record)
  }

  /** Forgets the buckets whose every id is older than `before`. */
  #expire(before: number): void {
    for (const [bucket, ids] of this.#buckets) {
      if (bucket + this.#bucketMs > before) continue
      for (const id of ids) if (this.#seen.get(id) === bucket) this.#seen.delete(id)
      this.#buckets.delete(bucket)
      this.#store.delete(bucket)
    }
  }
}

/**
 * Adds the store and returns the stream without second copies of an event. The store is named
 * `<name>-seen-id-buckets` (its changelog `<applicationId>-<name>-seen-id-buckets-changelog`): keys are
 * the start of a second of event time (a long, epoch ms), values the JSON array of the ids seen in it.
 */
export function dropDuplicates<K, V>(
  builder: StreamsBuilder,
  stream: KStream<K, V>,
  options: DedupOptions<K, V>,
): KStream<K, V> {
  if (!(Number.isInteger(options.horizonMs) && options.horizonMs > 0)) {
    throw new RangeError(`dedup horizon must be a positive whole number of ms, got ${options.horizonMs}`)
  }
  const storeName = `${options.name}-seen-id-buckets`
  builder.addStateStore(
    Stores.keyValueStoreBuilder(storeName, Serdes.Long(), Serdes.Json<string[]>()).withCachingEnabled(),
  )
  return stream.processValues(
    () => new DedupProcessor<K, V>(storeName, options),
    { name: options.name },
    storeName,
  )
}
