// Event ingest for the API (`POST /events`, `POST /agents`): a JSON event is checked and converted
// against its Avro schema (event-json.ts), encoded by its family's serde in the deployment's encoding
// (registry wire format or single-object, as the generator and the processors read it), and produced
// with the project's idempotent producer, whose Java-compatible partitioner puts a key on the same
// partition as the generator and any Java client do. The record timestamp is the event time, as the
// generator writes it. One record per send, so the answer can name its partition and offset; the
// client retries under the same event_id, which consumers deduplicate on.
import { randomUUID } from 'node:crypto'
import type { Producer } from '@platformatic/kafka'
import type { Config } from '../../config/config.js'
import { createAdmin, createProducer, keyPartition } from '../../kafka/clients.js'
import { describeTopics } from '../../kafka/topics.js'
import {
  createEventSerdesFromConfig,
  EVENT_FAMILIES,
  type EventFamily,
  type EventSerde,
  type EventsByFamily,
  type SchemaLookup,
  topicNames,
} from '../../schemas/index.js'
import {
  type ConvertedEvent,
  type EventJsonConverter,
  EventValidationError,
  eventJsonConverter,
} from './event-json.js'

export { EventValidationError, type FieldProblem } from './event-json.js'

/** What the API answers for an accepted event. */
export interface IngestResult {
  /** The event type, e.g. AgentCreated. */
  type: string
  topic: string
  partition: number
  /** Offset of the record in its partition (below 2^53 for any real log). */
  offset: number
  event_id: string
  /** The record key: agent_id, team_id, task_id or component. */
  key: string
}

/** Per family, what encodes its envelope for its topic (EventSerdes fits). */
export type EventEncoders = {
  readonly [F in EventFamily]: Pick<EventSerde<EventsByFamily[F]>, 'serialize' | 'topic'>
}

export interface EventIngestOptions {
  /** An idempotent producer from kafka/clients.ts createProducer; closed by close(). */
  producer: Producer<Buffer, Buffer, Buffer, Buffer>
  /** The topic of each family (topicNames(): the defaults, or prefixed in tests). */
  topics: Readonly<Record<EventFamily, string>>
  /** The serde of each family, for the same topics (a registry serde's subject follows its topic). */
  encoder: EventEncoders
  /** Default: the converter of the shipped schemas. */
  converter?: EventJsonConverter
  /**
   * How far in the future an event time may be. Kafka refuses a record timestamp past the broker's
   * `log.message.timestamp.after.max.ms` (1 h by default in Kafka 4): default 1 h.
   */
  maxFutureMs?: number
  /**
   * Each topic's retention.ms (undefined or negative: none). An event older than its topic's retention
   * is refused: Kafka deletes records by their timestamps, so it would be gone at once.
   */
  retentionMs?: Partial<Readonly<Record<EventFamily, number>>>
  /** The clock, epoch ms (default Date.now). */
  now?: () => number
  /**
   * Each topic's partition count. Given, concurrent events are sent together (one request for all
   * the events that arrived while the previous request was in flight), each on the partition its key
   * goes to, and each answer still names its own offset. Absent, one event per request.
   */
  partitions?: Partial<Readonly<Record<EventFamily, number>>>
}

interface Pending {
  readonly message: { topic: string; partition: number; key: Buffer; value: Buffer; timestamp: bigint }
  resolve(offset: number): void
  reject(error: unknown): void
}

/** At most this many events, and about this many bytes, per request. */
const MAX_BATCH_EVENTS = 500
const MAX_BATCH_BYTES = 512 * 1024

const DEFAULT_MAX_FUTURE_MS = 60 * 60 * 1000

export interface EventIngestCreateOptions {
  /** Topic names when not the family names (tests prefix them). */
  topics?: Partial<Record<EventFamily, string>>
  /** Suffix of the producer's client id (default 'api-ingest'). */
  clientId?: string
  /** How registry ids are found, instead of a client of config.schemaRegistry.url. */
  lookup?: SchemaLookup
}

export class EventIngest {
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #topics: Readonly<Record<EventFamily, string>>
  readonly #encoder: EventEncoders
  readonly #converter: EventJsonConverter
  readonly #maxFutureMs: number
  readonly #retentionMs: Partial<Readonly<Record<EventFamily, number>>>
  readonly #now: () => number
  readonly #partitions: Partial<Readonly<Record<EventFamily, number>>> | undefined
  readonly #queue: Pending[] = []
  #sending = false

  constructor(options: EventIngestOptions) {
    for (const family of EVENT_FAMILIES) {
      const serdeTopic = options.encoder[family].topic
      if (serdeTopic !== options.topics[family]) {
        throw new TypeError(
          `the ${family} encoder writes for topic ${serdeTopic}, not ${options.topics[family]}: build the serdes with the same topics`,
        )
      }
    }
    this.#producer = options.producer
    this.#topics = options.topics
    this.#encoder = options.encoder
    this.#converter = options.converter ?? eventJsonConverter()
    this.#maxFutureMs = options.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS
    this.#retentionMs = options.retentionMs ?? {}
    this.#now = options.now ?? Date.now
    this.#partitions = options.partitions
  }

  /**
   * An ingest of the configured deployment: the idempotent producer of config.kafka and the serdes of
   * SCHEMA_ENCODING (with the registry encoding, the current schemas must be registered under their
   * subjects: provisioning does it; otherwise this rejects with SCHEMA_NOT_REGISTERED).
   */
  static async create(config: Config, options: EventIngestCreateOptions = {}): Promise<EventIngest> {
    const topics = topicNames(options.topics)
    const encoder = await createEventSerdesFromConfig(config, {
      topics,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    })
    const admin = createAdmin(config.kafka, 'api-ingest-admin')
    const retentionMs: Partial<Record<EventFamily, number>> = {}
    const partitions: Partial<Record<EventFamily, number>> = {}
    try {
      const described = await describeTopics(admin, Object.values(topics))
      for (const family of EVENT_FAMILIES) {
        const d = described.find((t) => t.name === topics[family])
        const retention = Number(d?.configs['retention.ms'] ?? '-1')
        if (retention >= 0) retentionMs[family] = retention
        if (d !== undefined && d.partitions > 0) partitions[family] = d.partitions
      }
    } finally {
      await admin.close()
    }
    const producer = createProducer(config.kafka, { clientId: options.clientId ?? 'api-ingest' })
    return new EventIngest({ producer, topics, encoder, retentionMs, partitions })
  }

  /**
   * Validates, encodes and produces one event. Throws EventValidationError (every invalid field) for a
   * bad body; Kafka errors are passed through as they are.
   */
  async ingest(body: unknown): Promise<IngestResult> {
    return this.#produce(this.#converter.convert(body))
  }

  /** `POST /agents`: an AgentCreated whose body is AgentCreated's fields, with a new agent_id (a UUID). */
  async createAgent(body: unknown): Promise<IngestResult> {
    return this.#produce(this.#converter.convertPayload('AgentCreated', body, randomUUID()))
  }

  /** Closes the producer, after the events waiting to be sent are sent. */
  async close(): Promise<void> {
    while (this.#sending || this.#queue.length > 0) await new Promise((r) => setTimeout(r, 5))
    await this.#producer.close()
  }

  async #produce(converted: ConvertedEvent): Promise<IngestResult> {
    const { family, type, key, event } = converted
    const topic = this.#topics[family]
    const now = this.#now()
    const retention = this.#retentionMs[family]
    if (event.occurred_at > now + this.#maxFutureMs)
      throw new EventValidationError([
        {
          field: 'occurred_at',
          message: `more than ${this.#maxFutureMs / 60_000} minutes in the future: Kafka refuses such a record timestamp`,
        },
      ])
    if (retention !== undefined && event.occurred_at < now - retention)
      throw new EventValidationError([
        {
          field: 'occurred_at',
          message: `older than the retention of ${topic} (${retention / 3_600_000} h): Kafka would delete it at once`,
        },
      ])
    let value: Buffer
    try {
      value = (this.#encoder[family] as Pick<EventSerde<unknown>, 'serialize'>).serialize(event) as Buffer
    } catch (error) {
      // The converter checks what the schema says; a value it let through and the serde refuses is
      // still the request's: a 400, never a 503.
      throw new EventValidationError([
        { field: '(body)', message: `does not fit the Avro schema: ${(error as Error).message}` },
      ])
    }
    const keyBytes = Buffer.from(key, 'utf8')
    const timestamp = BigInt(event.occurred_at)
    const count = this.#partitions?.[family]
    if (count === undefined) {
      const result = await this.#producer.send({ messages: [{ topic, key: keyBytes, value, timestamp }] })
      const written = result.offsets?.find((o) => o.topic === topic)
      if (written === undefined)
        throw new Error(`the broker did not report the offset of the record on ${topic}`)
      return {
        type,
        topic,
        partition: written.partition,
        offset: Number(written.offset),
        event_id: event.event_id,
        key,
      }
    }
    const partition = keyPartition(keyBytes, count)
    const offset = await new Promise<number>((resolve, reject) => {
      this.#queue.push({ message: { topic, partition, key: keyBytes, value, timestamp }, resolve, reject })
      this.#flush()
    })
    return { type, topic, partition, offset, event_id: event.event_id, key }
  }

  /**
   * Sends what waits, unless a request is in flight (it sends again when that one ends). The broker
   * answers one base offset per partition: a partition's records of one request are appended
   * together, in the order sent, so each record's offset is its partition's base plus its position.
   */
  #flush(): void {
    if (this.#sending || this.#queue.length === 0) return
    let bytes = 0
    let n = 0
    while (n < this.#queue.length && n < MAX_BATCH_EVENTS && (n === 0 || bytes < MAX_BATCH_BYTES))
      bytes += (this.#queue[n++] as Pending).message.value.length
    const batch = this.#queue.splice(0, n)
    this.#sending = true
    this.#producer
      .send({ messages: batch.map((p) => p.message) })
      .then(
        (result) => {
          const next = new Map<string, number>()
          for (const o of result.offsets ?? []) next.set(`${o.topic}\u0000${o.partition}`, Number(o.offset))
          for (const p of batch) {
            const at = `${p.message.topic}\u0000${p.message.partition}`
            const offset = next.get(at)
            if (offset === undefined) {
              p.reject(new Error(`the broker did not report the offset of the record on ${p.message.topic}`))
              continue
            }
            next.set(at, offset + 1)
            p.resolve(offset)
          }
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error)
        },
      )
      .finally(() => {
        this.#sending = false
        this.#flush()
      })
  }
}
