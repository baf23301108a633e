// Alert: records found too late for their windows, or not decodable, above a rate. The runtime copies
// them to `<applicationId>-late` and `<applicationId>-dlq`; this reads those two topics back, each as
// its own source, and counts their records per tumbling window of the time they went bad: for a late
// record its `late.stream-time` header (the stream time at which a window aggregate judged it late),
// for a dead letter its own timestamp (the original record's; a dead letter of an invalid timestamp
// falls back to its `dead-letter.failed-at` header, then to the largest time seen). Both come from the
// record, so a replay counts the same windows and produces the same alert ids.
//
// Reading its own error topics must never put a record back into them, or one bad record would loop:
// the sources decode nothing (every key and value is read as null), the timestamp extractor never
// fails, and the count is this processor's own store (`alert-<kind>-counts`), not a DSL window
// aggregate (which would send a record too late for its window to the late topic). A record of a
// window older than the one before the newest seen is not counted (its window is gone from the store).
// Counts are per task: the runtime creates both topics with one partition, so the count is the whole
// application's; a topic made with more partitions is counted per partition.
import {
  type KeyValueStore,
  type KStream,
  type Processor,
  type ProcessorContext,
  type RecordContext,
  type Serde,
  Serdes,
  Stores,
  StreamRecord,
  type StreamsBuilder,
} from '../../topology/index.js'
import {
  type Alert,
  type AlertsOptions,
  type AlertType,
  alertId,
  resolveAlertsOptions,
  SEVERITY,
} from './alert.js'

/** The runtime's header names (topology/runtime/late-records.ts, kafka/dead-letter.ts). */
export const BAD_EVENT_HEADERS = Object.freeze({
  lateStreamTime: 'late.stream-time',
  deadLetterFailedAt: 'dead-letter.failed-at',
})

export type BadEventKind = 'late' | 'dead-letter'

export interface BadEventWindow {
  count: number
  alerted: boolean
}

// Reads nothing: the counts need only the record's timestamp and headers, and nothing can fail to decode.
const IGNORED: Serde<null> = {
  serialize: () => null,
  deserialize: () => null,
}

function headerTime(headers: ReadonlyMap<string, Buffer>, name: string): number {
  const text = headers.get(name)?.toString()
  if (text === undefined) return Number.NaN
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  return Number.isFinite(n) && n >= 0 ? n : Number.NaN
}

/** The time a late or dead-lettered record went bad; never negative, never throws. */
export function badEventTime(
  kind: BadEventKind,
  record: { readonly timestamp: number; readonly headers: ReadonlyMap<string, Buffer> },
  partitionTime: number,
): number {
  const candidates =
    kind === 'late'
      ? [headerTime(record.headers, BAD_EVENT_HEADERS.lateStreamTime), record.timestamp]
      : [record.timestamp, headerTime(record.headers, BAD_EVENT_HEADERS.deadLetterFailedAt)]
  for (const t of candidates) if (Number.isFinite(t) && t >= 0) return t
  return Math.max(0, partitionTime)
}

const TYPE: Record<BadEventKind, AlertType> = { late: 'LATE_EVENT_RATE', 'dead-letter': 'DEAD_LETTER_RATE' }
const WHAT: Record<BadEventKind, string> = { late: 'late records', 'dead-letter': 'dead letters' }

class BadEventCounter implements Processor<null, null, null, Alert> {
  #context!: ProcessorContext<null, Alert>
  #windows!: KeyValueStore<number, BadEventWindow>
  #newest = Number.NEGATIVE_INFINITY

  constructor(
    private readonly kind: BadEventKind,
    private readonly topic: string,
    private readonly storeName: string,
    private readonly windowMs: number,
    private readonly perMinute: number,
  ) {}

  init(context: ProcessorContext<null, Alert>): void {
    this.#context = context
    this.#windows = context.getStateStore<KeyValueStore<number, BadEventWindow>>(this.storeName)
    for (const [start] of this.#windows.all()) this.#newest = Math.max(this.#newest, start)
  }

  process(record: StreamRecord<null, null>): void {
    const time = record.timestamp
    const start = Math.floor(time / this.windowMs) * this.windowMs
    if (start < this.#newest - this.windowMs) return
    if (start > this.#newest) {
      this.#newest = start
      for (const [old] of [...this.#windows.all()]) {
        if (old < start - this.windowMs) this.#windows.delete(old)
      }
    }
    const window = this.#windows.get(start) ?? { count: 0, alerted: false }
    const count = window.count + 1
    const rate = (count * 60_000) / this.windowMs
    const crossed = !window.alerted && rate > this.perMinute
    this.#windows.put(start, { count, alerted: window.alerted || crossed })
    if (crossed) this.#context.forward(new StreamRecord(null, this.#alert(start, count, rate, time), time))
  }

  #alert(start: number, count: number, rate: number, time: number): Alert {
    const type = TYPE[this.kind]
    return {
      alert_id: alertId(type, this.topic, start),
      type,
      severity: SEVERITY[type],
      subject_type: 'TOPIC',
      subject: this.topic,
      observed: rate,
      threshold: this.perMinute,
      window_start: start,
      window_end: start + this.windowMs,
      event_time: time,
      message: `${count} ${WHAT[this.kind]} on ${this.topic} in the window from ${new Date(start).toISOString()}: above ${this.perMinute} per minute`,
      details: { count: String(count), window_ms: String(this.windowMs) },
    }
  }
}

function rateAlerts(
  builder: StreamsBuilder,
  kind: BadEventKind,
  topic: string,
  windowMs: number,
  perMinute: number,
): KStream<string, Alert> {
  const storeName = `alert-${kind}-counts`
  builder.addStateStore(Stores.keyValueStoreBuilder(storeName, Serdes.Long(), Serdes.Json<BadEventWindow>()))
  return builder
    .stream<null, null>(topic, {
      name: `alert-${kind}-source`,
      keySerde: IGNORED,
      valueSerde: IGNORED,
      timestampExtractor: (record, partitionTime, _source: RecordContext) =>
        badEventTime(kind, record, partitionTime),
    })
    .processValues(
      () => new BadEventCounter(kind, topic, storeName, windowMs, perMinute),
      { name: `alert-${kind}-rate` },
      storeName,
    )
    .selectKey((_key, alert) => alert.alert_id, { name: `alert-${kind}-rate-key` })
}

/**
 * Alerts, keyed by alert id, of windows with too many late records or dead letters. Reads `topics.late`
 * and `topics.deadLetter` (the runtime's `<applicationId>-late` and `<applicationId>-dlq`); adds the
 * stores `alert-late-counts` and `alert-dead-letter-counts`.
 */
export function badEventRateAlerts(
  builder: StreamsBuilder,
  topics: { readonly late: string; readonly deadLetter: string },
  options: Pick<AlertsOptions, 'maxLatePerMinute' | 'maxDeadLettersPerMinute' | 'badEventWindowMs'> = {},
): { late: KStream<string, Alert>; deadLetter: KStream<string, Alert> } {
  const resolved = resolveAlertsOptions(options)
  const windowMs = resolved.badEventWindowMs
  const maxLate = resolved.maxLatePerMinute
  const maxDead = resolved.maxDeadLettersPerMinute
  return {
    late: rateAlerts(builder, 'late', topics.late, windowMs, maxLate),
    deadLetter: rateAlerts(builder, 'dead-letter', topics.deadLetter, windowMs, maxDead),
  }
}
