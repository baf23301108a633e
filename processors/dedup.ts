// Data quality, first rule: producers retry, so the same event (same `event_id`) can arrive twice.
// Within a horizon of event time, a second copy is dropped and counted. The ids seen are kept in a
// key-value store (logged, so a restarted or moved task still knows them) and expired by a stream-time
// punctuator once they fall out of the horizon; the processor keeps, beside the store, the ids in
// event-time order to find what expires without scanning the store (rebuilt from it at start).
// Duplicates have the same key (the entity id), so both copies reach the same task.
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
  /** Names the processor and its store (`<name>-seen-ids`). */
  readonly name: string
  readonly keySerde: Serde<K>
  /** How long (event time) an id is remembered. */
  readonly horizonMs: number
  readonly eventId: (value: V) => string
  readonly eventTime: (value: V) => number
  /** Called once per dropped duplicate (a metric, a log line). */
  readonly onDuplicate?: (key: K, value: V) => void
}

class DedupProcessor<K, V> implements Processor<K, V, K, V> {
  #context!: ProcessorContext<K, V>
  #seen!: KeyValueStore<string, number>
  // Ids in the order of their event time (mostly appended; an out-of-order id is inserted in place).
  #order: { id: string; time: number }[] = []
  #head = 0

  constructor(
    private readonly storeName: string,
    private readonly options: DedupOptions<K, V>,
  ) {}

  init(context: ProcessorContext<K, V>): void {
    this.#context = context
    this.#seen = context.getStateStore<KeyValueStore<string, number>>(this.storeName)
    for (const [id, time] of this.#seen.all()) this.#order.push({ id, time })
    this.#order.sort((a, b) => a.time - b.time)
    const every = Math.max(1000, Math.floor(this.options.horizonMs / 10))
    context.schedule(every, 'stream-time', (streamTime) => this.#expire(streamTime - this.options.horizonMs))
  }

  process(record: StreamRecord<K, V>): void {
    if (record.value === null || record.value === undefined) {
      this.#context.forward(record)
      return
    }
    const id = this.options.eventId(record.value)
    if (this.#seen.get(id) !== undefined) {
      this.options.onDuplicate?.(record.key, record.value)
      return
    }
    const time = this.options.eventTime(record.value)
    this.#seen.put(id, time)
    this.#insert(id, time)
    this.#context.forward(record)
  }

  #insert(id: string, time: number): void {
    const order = this.#order
    let at = order.length
    while (at > this.#head && (order[at - 1] as { time: number }).time > time) at--
    if (at === order.length) order.push({ id, time })
    else order.splice(at, 0, { id, time })
  }

  #expire(before: number): void {
    const order = this.#order
    while (this.#head < order.length && (order[this.#head] as { time: number }).time < before) {
      this.#seen.delete((order[this.#head] as { id: string }).id)
      this.#head++
    }
    if (this.#head > 1024 && this.#head * 2 > order.length) {
      this.#order = order.slice(this.#head)
      this.#head = 0
    }
  }
}

/**
 * Adds the store and returns the stream without second copies of an event. The store is named
 * `<name>-seen-ids` (its changelog `<applicationId>-<name>-seen-ids-changelog`).
 */
export function dropDuplicates<K, V>(
  builder: StreamsBuilder,
  stream: KStream<K, V>,
  options: DedupOptions<K, V>,
): KStream<K, V> {
  if (!(Number.isInteger(options.horizonMs) && options.horizonMs > 0)) {
    throw new RangeError(`dedup horizon must be a positive whole number of ms, got ${options.horizonMs}`)
  }
  const storeName = `${options.name}-seen-ids`
  builder.addStateStore(
    Stores.keyValueStoreBuilder(storeName, Serdes.String(), Serdes.Long()).withCachingDisabled(),
  )
  return stream.processValues(
    () => new DedupProcessor<K, V>(storeName, options),
    { name: options.name },
    storeName,
  )
}
