// Data quality, first rule: producers retry, so the same event (same `event_id`) can arrive twice.
// Within a horizon of event time, a second copy is dropped and counted. Duplicates have the same key
// (the entity id), so both copies reach the same task.
//
// The ids seen are kept by second of event time: a logged, cached store maps each second to the ids of
// that second (encoded compactly: seen-ids.ts), and the processor indexes every id beside it (rebuilt
// from the store at start). So the changelog gets one record per second touched and commit, not one per
// event, and one tombstone per second once it falls out of the horizon instead of one per id. A
// stream-time punctuator expires the seconds whose every id is older than the horizon: an id is
// remembered up to 1 s longer.
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
import { fromStored, SeenIds } from './seen-ids.js'

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

/** Keeps the ids' bytes as they are; reads an earlier version's JSON arrays too (see seen-ids.ts). */
const bucketSerde: Serde<Buffer> = {
  serialize: (_topic, value) => value,
  deserialize: (_topic, bytes) => fromStored(bytes),
}

/** Buckets this far behind the newest are no longer written to, as far as their spare room goes. */
const TRIM_BEHIND_MS = 60_000

class DedupProcessor<K, V> implements Processor<K, V, K, V> {
  #context!: ProcessorContext<K, V>
  #store!: KeyValueStore<number, Buffer>
  readonly #ids = new SeenIds()
  readonly #bucketMs: number

  constructor(
    private readonly storeName: string,
    private readonly options: DedupOptions<K, V>,
  ) {
    this.#bucketMs = Math.min(BUCKET_MS, options.horizonMs)
  }

  init(context: ProcessorContext<K, V>): void {
    this.#context = context
    this.#store = context.getStateStore<KeyValueStore<number, Buffer>>(this.storeName)
    for (const [bucket, value] of this.#store.all()) this.#ids.load(bucket, value)
    const every = Math.max(1000, Math.floor(this.options.horizonMs / 10))
    context.schedule(every, 'stream-time', (streamTime) => this.#expire(streamTime - this.options.horizonMs))
  }

  process(record: StreamRecord<K, V>): void {
    if (record.value === null || record.value === undefined) {
      this.#context.forward(record)
      return
    }
    const id = this.options.eventId(record.value)
    const bucket = Math.floor(this.options.eventTime(record.value) / this.#bucketMs) * this.#bucketMs
    if (!this.#ids.remember(id, bucket)) {
      this.options.onDuplicate?.(record.key, record.value)
      return
    }
    // A view of the bucket's bytes so far: the cache keeps the latest and the changelog gets it at the
    // commit.
    this.#store.put(bucket, this.#ids.value(bucket) as Buffer)
    this.#context.forward(record)
  }

  /** Forgets the buckets whose every id is older than `before`. */
  #expire(before: number): void {
    for (const bucket of [...this.#ids.starts()]) {
      if (bucket + this.#bucketMs > before) continue
      this.#ids.forget(bucket)
      this.#store.delete(bucket)
    }
    this.#ids.trim(TRIM_BEHIND_MS)
  }
}

/**
 * Adds the store and returns the stream without second copies of an event. The store is named
 * `<name>-seen-id-buckets` (its changelog `<applicationId>-<name>-seen-id-buckets-changelog`): keys are
 * the start of a second of event time (a long, epoch ms), values the ids seen in it, in the format
 * seen-ids.ts describes (`decodeSeenIds` reads it).
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
    Stores.keyValueStoreBuilder(storeName, Serdes.Long(), bucketSerde).withCachingEnabled(),
  )
  return stream.processValues(
    () => new DedupProcessor<K, V>(storeName, options),
    { name: options.name },
    storeName,
  )
}
