// The generator's entry point (what `agent-party produce` calls): generates the seeded event stream,
// encodes each event with its topic's serde and writes batches to Kafka, to a fixture file or to a
// given sink, pacing to `rate` when one was given, reporting progress after every batch.
import type { Config } from '../../config/config.js'
import { SchemaError } from '../errors.js'
import { EVENT_FAMILIES, type EventFamily, topicNames } from '../event-families.js'
import { createEventSerdes, type EventSerdes } from '../serde/create-event-serdes.js'
import type { EventSerde, SchemaEncoding } from '../serde/event-serde.js'
import type { GeneratedRecord } from './disorder-stage.js'
import { type FixtureFormat, fileSink } from './file-sink.js'
import { generateRecords } from './generate-records.js'
import { type GeneratorOptions, resolveGeneratorOptions } from './generator-options.js'
import { kafkaSink } from './kafka-sink.js'
import type { OutgoingRecord, RecordSink } from './record-sink.js'

export type ProduceTarget =
  | { kind: 'kafka'; config: Config }
  | { kind: 'file'; path: string; format: FixtureFormat }
  | { kind: 'sink'; sink: RecordSink }

export interface ProduceEventsOptions extends GeneratorOptions {
  target: ProduceTarget
  /** Default: the config's SCHEMA_ENCODING for Kafka, 'single-object' for files and sinks (fixtures need no registry). */
  encoding?: SchemaEncoding
  /** Registry for the 'registry' encoding when the target is not Kafka (Kafka uses its config's). */
  registryUrl?: string
  /** Topic names, when not the family names. */
  topics?: Partial<Record<EventFamily, string>>
  /** Register the current schemas if their subjects lack them (default off: provisioning does). */
  autoRegister?: boolean
  /** Records per send (default 1000; smaller when pacing a low rate). */
  batchSize?: number
  /** Ready-made serdes (tests); otherwise built from `encoding`. */
  serdes?: EventSerdes
  /** Stops after the current batch; the summary says how many were written. */
  signal?: AbortSignal
}

export interface ProduceProgress {
  written: number
  /** Records the run will write when not stopped. */
  total: number
  byTopic: Record<string, number>
  duplicates: number
  outOfOrder: number
  late: number
  /** Event time of the last record written. */
  eventTime: number
  elapsedMs: number
  done: boolean
}

export type ProgressCallback = (progress: ProduceProgress) => void

export async function produceEvents(
  options: ProduceEventsOptions,
  onProgress: ProgressCallback = () => {},
): Promise<ProduceProgress> {
  const { target, encoding, registryUrl, topics, autoRegister, batchSize, serdes, signal, ...generator } =
    options
  const resolved = resolveGeneratorOptions(generator)
  const size = batchSizeFor(batchSize ?? 1000, resolved.paced ? resolved.rate : undefined)
  const names = topicNames(topics)
  const codecs =
    serdes ??
    (await createEventSerdes({
      encoding: encoding ?? (target.kind === 'kafka' ? target.config.schemas.encoding : 'single-object'),
      ...(target.kind === 'kafka'
        ? { registryUrl: target.config.schemaRegistry.url, registryCredentials: target.config.schemaRegistry }
        : {}),
      ...(registryUrl === undefined ? {} : { registryUrl }),
      topics: names,
      autoRegister: autoRegister ?? false,
    }))
  const sink = openSink(target)
  const progress: ProduceProgress = {
    written: 0,
    total: resolved.count,
    byTopic: Object.fromEntries(EVENT_FAMILIES.map((f) => [names[f], 0])),
    duplicates: 0,
    outOfOrder: 0,
    late: 0,
    eventTime: resolved.baseTime,
    elapsedMs: 0,
    done: false,
  }
  const started = performance.now()
  let batch: OutgoingRecord[] = []
  const send = async () => {
    // The batch leaves when its last record is due: record i at i / rate seconds after the start.
    if (resolved.paced) await sleepUntil(started + ((progress.written + batch.length) * 1000) / resolved.rate)
    await sink.write(batch)
    for (const record of batch) progress.byTopic[record.topic] = (progress.byTopic[record.topic] ?? 0) + 1
    progress.written += batch.length
    progress.eventTime = batch.at(-1)?.timestamp ?? progress.eventTime
    progress.elapsedMs = performance.now() - started
    batch = []
    onProgress({ ...progress, byTopic: { ...progress.byTopic } })
  }
  try {
    for (const record of generateRecords(resolved)) {
      batch.push(outgoing(record, names[record.family], codecs[record.family] as EventSerde<unknown>))
      if (record.duplicate) progress.duplicates++
      if (record.delay === 'late') progress.late++
      if (record.delay === 'out-of-order') progress.outOfOrder++
      if (batch.length >= size) {
        await send()
        if (signal?.aborted) break
      }
    }
    if (batch.length > 0 && !signal?.aborted) await send()
  } finally {
    await sink.close()
  }
  progress.done = true
  progress.elapsedMs = performance.now() - started
  onProgress({ ...progress, byTopic: { ...progress.byTopic } })
  return progress
}

function outgoing(record: GeneratedRecord, topic: string, serde: EventSerde<unknown>): OutgoingRecord {
  return {
    topic,
    key: Buffer.from(record.key, 'utf8'),
    value: serde.serialize(record.event),
    timestamp: record.timestamp,
    event: record.event,
  }
}

function openSink(target: ProduceTarget): RecordSink {
  switch (target.kind) {
    case 'kafka':
      return kafkaSink(target.config.kafka)
    case 'file':
      return fileSink(target.path, target.format)
    case 'sink':
      return target.sink
    default:
      throw new SchemaError('INVALID_OPTIONS', `unknown target ${(target as { kind: string }).kind}`)
  }
}

/** About 50 ms of records per send when paced, so a low rate still flows smoothly. */
function batchSizeFor(batchSize: number, pacedRate: number | undefined): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new SchemaError('INVALID_OPTIONS', `batchSize must be a whole number >= 1, not ${batchSize}`)
  }
  return pacedRate === undefined ? batchSize : Math.max(1, Math.min(batchSize, Math.ceil(pacedRate / 20)))
}

async function sleepUntil(at: number): Promise<void> {
  const wait = at - performance.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
}
