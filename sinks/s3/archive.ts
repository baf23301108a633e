// The S3 archive sink target: the raw input events (key, value bytes, headers, timestamp, offset) of
// its topics, per (topic, partition), in Avro container files covering fixed offset ranges, and one
// manifest per partition whose compare-and-swap update is the commit point (README.md in this folder).
//
// Life of a range: records go into the partition's open range in memory; at `rangeRecords` records,
// or when the partition was idle `idleMs` (or the range is `maxRangeAgeMs` old), the range is cut:
// the cut [first, last] goes into the manifest as pending BEFORE the object is built and uploaded,
// then the manifest lists it as closed. A crash anywhere leaves either no cut (the open range is
// rebuilt from Kafka and cut again, maybe elsewhere: nothing was published) or a pending cut, which
// restart() reports as stored offset `pending.first - 1`, so the runner re-delivers exactly that
// range and the next apply rebuilds the same object (same records, same name, same bytes).
// The stored offset restart() returns moves only when a range is recorded closed.
import type { Client } from 'minio'
import type { Config } from '../../config/config.js'
import type { Logger } from '../../config/logger.js'
import type { SinkMetrics } from '../../config/metrics.js'
import { type FetchedRecord, partitionKey } from '../../kafka/partition-fetcher.js'
import type {
  DecodedRecord,
  FailureKind,
  PartitionBatch,
  SinkTarget,
  StoredOffsets,
  TopicPartition,
} from '../runtime/target.js'
import {
  type ArchiveCodec,
  type ArchivedRecord,
  encodeRange,
  objectKey,
  parseObjectName,
  partitionDir,
  sha256Hex,
} from './archive-format.js'
import { classifyArchiveError } from './classify.js'
import { createS3Client } from './client.js'
import { type ArchiveManifest, type ClosedRange, ManifestStore } from './manifest.js'

export const ARCHIVE_DEFAULTS = {
  name: 'archive',
  topics: ['agent_events', 'team_events', 'task_events', 'system_events'] as readonly string[],
  prefix: '',
  rangeRecords: 10_000,
  idleMs: 60_000,
  maxRangeAgeMs: 15 * 60_000,
  retentionMs: 90 * 24 * 3_600_000,
  retentionCheckMs: 3_600_000,
  codec: 'deflate' as ArchiveCodec,
  conditionalWrites: true,
}

export interface ArchiveSinkOptions {
  readonly client: Client
  readonly bucket: string
  /** Region for creating the bucket. Default us-east-1. */
  readonly region?: string
  /** Sink id. Default 'archive'. */
  readonly name?: string
  /** The raw event topics. Default the four event topics. */
  readonly topics?: readonly string[]
  /** Key prefix of everything the sink writes ('' or ending with '/'). Default ''. */
  readonly prefix?: string
  /** Records after which a range is cut. Default 10,000. */
  readonly rangeRecords?: number
  /** A partition with an open range and no new record for this long gets its range cut. Default 60 s. */
  readonly idleMs?: number
  /** An open range this old (since its first record arrived) is cut even if records keep coming. Default 15 min. */
  readonly maxRangeAgeMs?: number
  /** Closed ranges whose newest record is older than this are deleted. Default 90 days. */
  readonly retentionMs?: number
  /** How often tick() enforces retention per partition. Default 1 h. */
  readonly retentionCheckMs?: number
  /** Block codec. Default deflate. */
  readonly codec?: ArchiveCodec
  /** Use If-Match / If-None-Match for manifest writes (S3, MinIO, s3proxy 2.x+ support them). Default true. */
  readonly conditionalWrites?: boolean
  readonly metrics?: SinkMetrics
  readonly logger?: Logger
}

interface OpenRange {
  /** First offset of the open range; null until the first record when nothing was ever archived. */
  first: number | null
  records: ArchivedRecord[]
  /** Wall clock of the first and of the latest record appended. */
  openedAt: number
  lastAppendAt: number
}

interface PartitionState {
  readonly topic: string
  readonly partition: number
  manifest: ArchiveManifest
  etag: string | null
  /** Highest offset covered in memory (records appended or lastOffset); records at or below are skipped. */
  position: number
  open: OpenRange
  lastRetentionAt: number
}

export class ArchiveSinkTarget implements SinkTarget<FetchedRecord> {
  readonly name: string
  readonly topics: readonly string[]
  readonly bucket: string
  readonly prefix: string
  readonly #client: Client
  readonly #region: string
  readonly #manifests: ManifestStore
  readonly #rangeRecords: number
  readonly #idleMs: number
  readonly #maxRangeAgeMs: number
  readonly #retentionMs: number
  readonly #retentionCheckMs: number
  readonly #codec: ArchiveCodec
  readonly #metrics: SinkMetrics | undefined
  readonly #logger: Logger | undefined
  readonly #partitions = new Map<string, PartitionState>()

  constructor(options: ArchiveSinkOptions) {
    this.name = options.name ?? ARCHIVE_DEFAULTS.name
    this.topics = [...(options.topics ?? ARCHIVE_DEFAULTS.topics)]
    this.bucket = options.bucket
    this.prefix = options.prefix ?? ARCHIVE_DEFAULTS.prefix
    if (this.prefix !== '' && !this.prefix.endsWith('/')) {
      throw new Error(`ArchiveSinkTarget option prefix must be '' or end with '/', got '${this.prefix}'`)
    }
    if (this.topics.length === 0)
      throw new Error('ArchiveSinkTarget option topics must name at least one topic')
    for (const topic of this.topics) {
      if (topic.includes('/')) throw new Error(`ArchiveSinkTarget option topics: '${topic}' contains '/'`)
    }
    this.#client = options.client
    this.#region = options.region ?? 'us-east-1'
    this.#rangeRecords = positive('rangeRecords', options.rangeRecords ?? ARCHIVE_DEFAULTS.rangeRecords)
    this.#idleMs = positive('idleMs', options.idleMs ?? ARCHIVE_DEFAULTS.idleMs, true)
    this.#maxRangeAgeMs = positive(
      'maxRangeAgeMs',
      options.maxRangeAgeMs ?? ARCHIVE_DEFAULTS.maxRangeAgeMs,
      true,
    )
    this.#retentionMs = positive('retentionMs', options.retentionMs ?? ARCHIVE_DEFAULTS.retentionMs)
    this.#retentionCheckMs = positive(
      'retentionCheckMs',
      options.retentionCheckMs ?? ARCHIVE_DEFAULTS.retentionCheckMs,
      true,
    )
    this.#codec = options.codec ?? ARCHIVE_DEFAULTS.codec
    if (this.#codec !== 'deflate' && this.#codec !== 'null') {
      throw new Error(
        `ArchiveSinkTarget option codec must be 'deflate' or 'null', got '${String(this.#codec)}'`,
      )
    }
    this.#manifests = new ManifestStore(
      this.#client,
      this.bucket,
      this.prefix,
      options.conditionalWrites ?? ARCHIVE_DEFAULTS.conditionalWrites,
    )
    this.#metrics = options.metrics
    this.#logger = options.logger
  }

  async open(): Promise<void> {
    if (await this.#client.bucketExists(this.bucket)) return
    try {
      await this.#client.makeBucket(this.bucket, this.#region)
    } catch (error) {
      // Another instance created it between the check and the creation.
      if (!(await this.#client.bucketExists(this.bucket))) throw error
    }
  }

  /** Never fails: the archive keeps the bytes as they are. */
  decode(record: FetchedRecord): FetchedRecord {
    return record
  }

  async restart(partitions: readonly TopicPartition[]): Promise<StoredOffsets> {
    for (const p of partitions) this.#partitions.delete(partitionKey(p.topic, p.partition))
    const loaded = await Promise.all(
      partitions.map(async (p) => ({ p, versioned: await this.#manifests.read(p.topic, p.partition) })),
    )
    const stored = new Map<string, number>()
    const now = Date.now()
    for (const { p, versioned } of loaded) {
      const { manifest, etag } = versioned
      const offset = manifest.pending ? manifest.pending.first - 1 : manifest.last
      if (offset !== null) stored.set(partitionKey(p.topic, p.partition), offset)
      this.#partitions.set(partitionKey(p.topic, p.partition), {
        topic: p.topic,
        partition: p.partition,
        manifest,
        etag,
        position: offset ?? -1,
        open: newRange(offset === null ? null : offset + 1, now),
        // The first tick after an assignment checks retention.
        lastRetentionAt: Number.NEGATIVE_INFINITY,
      })
    }
    return stored
  }

  async apply(batch: readonly PartitionBatch<FetchedRecord>[]): Promise<void> {
    await settleAll(batch.map((part) => this.#applyPartition(part)))
  }

  async revoke(partitions: readonly TopicPartition[]): Promise<void> {
    for (const p of partitions) this.#partitions.delete(partitionKey(p.topic, p.partition))
  }

  async tick(now: number): Promise<void> {
    await settleAll(
      [...this.#partitions.values()].map(async (state) => {
        const open = state.open
        const pending = state.manifest.pending
        if (
          pending === null &&
          open.records.length > 0 &&
          (now - open.lastAppendAt >= this.#idleMs || now - open.openedAt >= this.#maxRangeAgeMs)
        ) {
          await this.#close(state, state.position)
        }
        if (now - state.lastRetentionAt >= this.#retentionCheckMs) {
          await this.#enforceRetention(state, now)
          state.lastRetentionAt = now
        }
      }),
    )
  }

  classify(error: unknown): FailureKind {
    return classifyArchiveError(error)
  }

  async reset(): Promise<void> {
    for (const topic of this.topics) await removeUnder(this.#client, this.bucket, `${this.prefix}${topic}/`)
    this.#partitions.clear()
  }

  async ping(): Promise<boolean> {
    try {
      return await this.#client.bucketExists(this.bucket)
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    this.#partitions.clear()
  }

  async #applyPartition(part: PartitionBatch<FetchedRecord>): Promise<void> {
    const state = this.#partitions.get(partitionKey(part.topic, part.partition))
    if (!state) throw new Error(`archive: ${part.topic}-${part.partition} was not restarted before apply`)
    const now = Date.now()
    for (const record of part.records) {
      if (record.offset <= state.position) continue
      const pending = state.manifest.pending
      if (pending && record.offset > pending.last) await this.#close(state, pending.last)
      if (state.open.first === null) state.open.first = record.offset
      if (state.open.records.length === 0) state.open.openedAt = now
      state.open.records.push(archived(record))
      state.open.lastAppendAt = now
      state.position = record.offset
      if (!state.manifest.pending && state.open.records.length >= this.#rangeRecords) {
        await this.#close(state, record.offset)
      }
    }
    if (part.lastOffset > state.position) state.position = part.lastOffset
    const pending = state.manifest.pending
    if (pending && state.position >= pending.last) await this.#close(state, pending.last)
  }

  /** Cuts the open range at `last` (pending first), uploads its object and records it closed. */
  async #close(state: PartitionState, last: number): Promise<void> {
    const { topic, partition } = state
    const first = state.open.first
    const records = state.open.records
    if (first === null) return
    if (!state.manifest.pending) {
      await this.#writeManifest(state, { ...state.manifest, pending: { first, last } })
    }
    let range: ClosedRange | undefined
    if (records.length > 0) {
      const body = encodeRange({ topic, partition, first, last }, records, this.#codec)
      const key = objectKey(this.prefix, { topic, partition, first, last })
      await this.#client.putObject(this.bucket, key, body, body.length, {
        'Content-Type': 'application/avro',
      })
      let minTimestamp = Number.POSITIVE_INFINITY
      let maxTimestamp = Number.NEGATIVE_INFINITY
      for (const r of records) {
        if (r.timestamp < minTimestamp) minTimestamp = r.timestamp
        if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp
      }
      range = {
        first,
        last,
        records: records.length,
        bytes: body.length,
        sha256: sha256Hex(body),
        key,
        minTimestamp,
        maxTimestamp,
      }
      this.#metrics?.archiveUploaded(topic, records.length, body.length)
    }
    // A range without records (only markers or skipped offsets in it) moves `last` without an object.
    await this.#writeManifest(state, {
      ...state.manifest,
      last,
      ranges: range ? [...state.manifest.ranges, range] : state.manifest.ranges,
      pending: null,
    })
    this.#logger?.debug({ topic, partition, first, last, records: records.length }, 'archive range closed')
    state.open = newRange(last + 1, Date.now())
  }

  async #writeManifest(state: PartitionState, manifest: ArchiveManifest): Promise<void> {
    try {
      state.etag = await this.#manifests.write(manifest, state.etag)
    } catch (error) {
      this.#logger?.warn(
        { topic: state.topic, partition: state.partition, err: error },
        'archive manifest write failed',
      )
      throw error
    }
    state.manifest = manifest
  }

  /**
   * Drops the leading closed ranges whose newest record is older than now - retention: the manifest
   * first (so no reader or restart ever finds a listed range without its object), then every object
   * of the partition below the first range still listed (also those a crash between the two steps,
   * or a zombie's upload, left behind).
   */
  async #enforceRetention(state: PartitionState, now: number): Promise<void> {
    const cutoff = now - this.#retentionMs
    const ranges = state.manifest.ranges
    let expired = 0
    while (expired < ranges.length && (ranges[expired]?.maxTimestamp ?? Number.POSITIVE_INFINITY) < cutoff) {
      expired++
    }
    if (expired > 0) await this.#writeManifest(state, { ...state.manifest, ranges: ranges.slice(expired) })
    const manifest = state.manifest
    const keepFrom = manifest.ranges[0]?.first ?? (manifest.last === null ? null : manifest.last + 1)
    if (keepFrom === null) return
    const dir = partitionDir(this.prefix, state.topic, state.partition)
    const doomed: string[] = []
    for await (const object of this.#client.listObjectsV2(this.bucket, dir, false)) {
      const name = object.name
      if (!name) continue
      const range = parseObjectName(name.slice(dir.length))
      if (range && range.last < keepFrom) doomed.push(name)
    }
    if (doomed.length > 0) {
      await removeKeys(this.#client, this.bucket, doomed)
      this.#logger?.info(
        { topic: state.topic, partition: state.partition, objects: doomed.length, expiredRanges: expired },
        'archive retention deleted objects',
      )
    }
  }
}

/** The archive target of the configured S3 service and bucket. */
export function createArchiveSinkTarget(
  config: Config,
  options: Omit<ArchiveSinkOptions, 'client' | 'bucket'> & { bucket?: string } = {},
): ArchiveSinkTarget {
  return new ArchiveSinkTarget({
    ...options,
    client: createS3Client(config.s3),
    bucket: options.bucket ?? config.s3.bucket,
    region: options.region ?? config.s3.region,
  })
}

/** Deletes every object under `prefix` (recursively). */
export async function removeUnder(client: Client, bucket: string, prefix: string): Promise<number> {
  const keys: string[] = []
  for await (const object of client.listObjectsV2(bucket, prefix, true))
    if (object.name) keys.push(object.name)
  await removeKeys(client, bucket, keys)
  return keys.length
}

async function removeKeys(client: Client, bucket: string, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const results = await client.removeObjects(bucket, keys.slice(i, i + 1000))
    const failed = results.find((result) => result?.Error?.Code)?.Error
    if (failed) {
      throw Object.assign(new Error(`cannot delete ${failed.Key}: ${failed.Message ?? failed.Code}`), {
        code: failed.Code,
      })
    }
  }
}

function archived(record: DecodedRecord<FetchedRecord>): ArchivedRecord {
  const raw = record.value
  const headers = [...(raw?.headers ?? record.headers ?? [])].map(([key, value]) => ({ key, value }))
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    value: raw?.value ?? null,
    headers,
  }
}

function newRange(first: number | null, now: number): OpenRange {
  return { first, records: [], openedAt: now, lastAppendAt: now }
}

function positive(option: string, value: number, allowZero = false): number {
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(
      `ArchiveSinkTarget option ${option} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`,
    )
  }
  return value
}

/** Runs every task to its end (none left running behind a failure), then throws the first failure. */
async function settleAll(tasks: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks)
  for (const result of results) if (result.status === 'rejected') throw result.reason
}
