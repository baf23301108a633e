// Reads the S3 archive back, for replays older than Kafka's retention: per partition, the records of
// the closed ranges its manifest lists, in offset order, each object checked against the manifest's
// sha256 and range before any of its records is returned. Records come back as FetchedRecords (the
// shape the Kafka fetcher gives), so that re-publishing them gives the same bytes a replay from
// Kafka would read. Pending cuts and objects the manifest does not list are never read.
import type { MessageToProduce } from '@platformatic/kafka'
import type { Client } from 'minio'
import type { FetchedRecord } from '../../kafka/partition-fetcher.js'
import { ArchiveFormatError, decodeRange, sha256Hex } from './archive-format.js'
import { type ArchiveManifest, type ClosedRange, isNotFound, ManifestStore, readAll } from './manifest.js'

export interface ArchiveReaderOptions {
  readonly client: Client
  readonly bucket: string
  /** The archive sink's prefix ('' or ending with '/'). Default ''. */
  readonly prefix?: string
}

export interface ArchiveReadOptions {
  /** Partitions to read, in this order. Default every archived partition, ascending. */
  readonly partitions?: readonly number[]
  /** Offset bounds (inclusive), for every partition read. */
  readonly fromOffset?: number
  readonly toOffset?: number
  /** Timestamp bounds in ms (inclusive): records outside are skipped (timestamps need not be monotonic). */
  readonly fromTimestamp?: number
  readonly toTimestamp?: number
}

export class ArchiveReader {
  readonly #client: Client
  readonly #bucket: string
  readonly #prefix: string
  readonly #manifests: ManifestStore

  constructor(options: ArchiveReaderOptions) {
    this.#client = options.client
    this.#bucket = options.bucket
    this.#prefix = options.prefix ?? ''
    this.#manifests = new ManifestStore(this.#client, this.#bucket, this.#prefix)
  }

  /** The partitions of `topic` that have a manifest, ascending. */
  async partitions(topic: string): Promise<number[]> {
    const dir = `${this.#prefix}${topic}/`
    const found: number[] = []
    for await (const item of this.#client.listObjectsV2(this.#bucket, dir, false)) {
      const match = item.prefix ? /^(\d+)\/$/.exec(item.prefix.slice(dir.length)) : null
      if (match) found.push(Number(match[1]))
    }
    const withManifest = await Promise.all(
      found.map(async (p) => ((await this.#manifests.read(topic, p)).etag === null ? undefined : p)),
    )
    return withManifest.filter((p): p is number => p !== undefined).sort((a, b) => a - b)
  }

  /** The partition's manifest, or null when nothing was archived. */
  async manifest(topic: string, partition: number): Promise<ArchiveManifest | null> {
    const { manifest, etag } = await this.#manifests.read(topic, partition)
    return etag === null ? null : manifest
  }

  /** Every archived record of `topic` within the bounds: partition after partition, each in offset order. */
  async *records(topic: string, options: ArchiveReadOptions = {}): AsyncGenerator<FetchedRecord> {
    const partitions = options.partitions ?? (await this.partitions(topic))
    for (const partition of partitions) yield* this.partitionRecords(topic, partition, options)
  }

  /** The archived records of one partition within the bounds, in offset order. */
  async *partitionRecords(
    topic: string,
    partition: number,
    options: ArchiveReadOptions = {},
  ): AsyncGenerator<FetchedRecord> {
    const manifest = await this.manifest(topic, partition)
    if (!manifest) return
    const from = options.fromOffset ?? Number.NEGATIVE_INFINITY
    const to = options.toOffset ?? Number.POSITIVE_INFINITY
    const fromTs = options.fromTimestamp ?? Number.NEGATIVE_INFINITY
    const toTs = options.toTimestamp ?? Number.POSITIVE_INFINITY
    for (const range of manifest.ranges) {
      if (range.last < from || range.first > to) continue
      if (range.maxTimestamp < fromTs || range.minTimestamp > toTs) continue
      const records = await this.#readRange(topic, partition, range)
      if (records === undefined) continue
      for (const r of records) {
        if (r.offset < from || r.offset > to || r.timestamp < fromTs || r.timestamp > toTs) continue
        yield {
          topic,
          partition,
          offset: r.offset,
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          headers: new Map(r.headers.map((h) => [h.key, h.value ?? Buffer.alloc(0)])),
        }
      }
    }
  }

  /** The records of one closed range, verified; undefined when retention removed it meanwhile. */
  async #readRange(topic: string, partition: number, range: ClosedRange) {
    let body: Buffer
    try {
      body = await readAll(await this.#client.getObject(this.#bucket, range.key))
    } catch (error) {
      if (!isNotFound(error)) throw error
      // Retention deletes objects only after dropping them from the manifest: a range still listed
      // now whose object is missing is a broken archive, one no longer listed was expired mid-read.
      const now = await this.manifest(topic, partition)
      if (now?.ranges.some((r) => r.first === range.first && r.key === range.key)) throw error
      return undefined
    }
    const where = `${range.key} (${topic}-${partition} [${range.first}, ${range.last}])`
    if (body.length !== range.bytes || sha256Hex(body) !== range.sha256) {
      throw new ArchiveFormatError(`archive object ${where} does not match its manifest's size and sha256`)
    }
    const { metadata, records } = decodeRange(body)
    if (
      metadata['agentparty.topic']?.toString() !== topic ||
      metadata['agentparty.partition']?.toString() !== String(partition)
    ) {
      throw new ArchiveFormatError(`archive object ${where} belongs to another partition`)
    }
    if (records.length !== range.records) {
      throw new ArchiveFormatError(
        `archive object ${where} holds ${records.length} records, expected ${range.records}`,
      )
    }
    let previous = range.first - 1
    for (const r of records) {
      if (r.offset <= previous || r.offset > range.last) {
        throw new ArchiveFormatError(`archive object ${where} has record ${r.offset} out of order or range`)
      }
      previous = r.offset
    }
    return records
  }
}

/** What republish needs of a producer (kafka/clients.ts createProducer gives one). */
export interface RepublishProducer {
  send(options: { messages: MessageToProduce[] }): Promise<unknown>
}

export interface RepublishOptions {
  /** Records per send. Default 500. */
  readonly batchSize?: number
  /**
   * Write each record to the partition number it was archived from (the replay topic needs at least
   * as many partitions), so each partition's order is the archive's. Default true; false lets the
   * producer's partitioner place records by key.
   */
  readonly samePartition?: boolean
}

/**
 * Re-publishes archived records into `topic` with their keys, values, headers and timestamps, in
 * the order given, one awaited send at a time (so a partition's records keep their order). Returns
 * how many were sent. Not exactly-once by itself: a failed run is repeated into an emptied topic.
 */
export async function republish(
  records: AsyncIterable<FetchedRecord>,
  producer: RepublishProducer,
  topic: string,
  options: RepublishOptions = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 500
  const samePartition = options.samePartition ?? true
  let batch: MessageToProduce[] = []
  let sent = 0
  for await (const r of records) {
    batch.push({
      topic,
      ...(samePartition ? { partition: r.partition } : {}),
      ...(r.key === null ? {} : { key: r.key }),
      ...(r.value === null ? {} : { value: r.value }),
      timestamp: BigInt(r.timestamp),
      headers: new Map([...r.headers].map(([k, v]) => [Buffer.from(k), v])),
    })
    if (batch.length >= batchSize) {
      await producer.send({ messages: batch })
      sent += batch.length
      batch = []
    }
  }
  if (batch.length > 0) {
    await producer.send({ messages: batch })
    sent += batch.length
  }
  return sent
}
