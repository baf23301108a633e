// Batch fetching from explicit partition positions, outside any consumer-group stream: the runtime's
// main loop and its changelog restore both need whole fetch responses (to decode and process a batch at
// once), their own offsets (never the client's stream position, which a rebalance rewinds), and the
// partition's high watermark and last stable offset (restore ends there). One Fetch request per leader
// broker, concurrently; control batches skipped; under read_committed, aborted records dropped by
// Kafka's rule (committedBatches); records before the requested offset (a batch starts earlier) dropped.
//
// The Fetch request is sent through the client's versioned API, not Consumer.fetch: under read_committed
// the client filters aborted records itself, and its filter ends a producer's last aborted range at the
// producer's last abort marker in the response. An abort marker can stand alone (a transaction that
// added the partition and aborted before writing to it), and then every committed transaction of that
// producer in between was dropped too: a restore lost committed changelog records and a restarted
// instance emitted windows a second time (issue 7). Sessionless requests (session id 0, epoch -1):
// every request names its partitions and offsets, so no broker-side state can disagree with ours.
import {
  type Admin,
  type Connection,
  type Consumer,
  FetchIsolationLevels,
  kGetApi,
  kGetConnection,
  kPerformWithRetry,
  ListOffsetTimestamps,
  protocolErrors,
  type RecordsBatch,
} from '@platformatic/kafka'
import { type Callback, internalsOf } from './client-internals.js'

/** A record as fetched: bytes, headers and its place in the log (numbers: offsets stay below 2^53). */
export interface FetchedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: ReadonlyMap<string, Buffer>
}

export interface FetchedPartition {
  readonly topic: string
  readonly partition: number
  /** The records at or after the requested offset, in offset order (possibly none). */
  readonly records: FetchedRecord[]
  /** Where the next fetch of this partition starts. */
  readonly nextOffset: number
  readonly highWatermark: number
  /** The end a read_committed reader can reach now. */
  readonly lastStableOffset: number
  /**
   * The producer ids of the commit markers fetched (control batches at or after the requested offset,
   * in offset order): the runtime learns there that a transaction it committed is readable here.
   */
  readonly commitMarkers?: readonly bigint[]
}

export interface PartitionPosition {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

export type OffsetResetPolicy = 'earliest' | 'latest' | 'none'

export interface PartitionFetcherOptions {
  readonly isolation: 'read_committed' | 'read_uncommitted'
  /** How long the broker may wait for minBytes. Default 100 ms. */
  readonly maxWaitMs?: number
  readonly maxBytes?: number
  readonly maxBytesPerPartition?: number
  /** Where to go when a position fell out of the log (retention, DeleteRecords), per topic. Default earliest. */
  readonly offsetReset?: OffsetResetPolicy | ((topic: string) => OffsetResetPolicy)
}

export class OffsetOutOfRangeError extends Error {
  readonly code = 'OFFSET_OUT_OF_RANGE'
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
  ) {
    super(`offset ${offset} of ${topic}-${partition} is out of range and the reset policy is 'none'`)
    this.name = 'OffsetOutOfRangeError'
  }
}

const IS_TRANSACTIONAL = 0x10
const IS_CONTROL = 0x20
const OFFSET_OUT_OF_RANGE = protocolErrors.OFFSET_OUT_OF_RANGE?.code ?? 1
const NO_HEADERS: ReadonlyMap<string, Buffer> = new Map()

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

/** Partition numbers per topic, in the order given: the shape the client's offset calls take. */
export function partitionsByTopic(
  partitions: readonly { topic: string; partition: number }[],
): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const p of partitions) {
    const list = out.get(p.topic)
    if (list === undefined) out.set(p.topic, [p.partition])
    else list.push(p.partition)
  }
  return out
}

export class PartitionFetcher {
  readonly #consumer: Consumer
  readonly #options: PartitionFetcherOptions
  readonly #isolation: number

  constructor(consumer: Consumer, options: PartitionFetcherOptions) {
    this.#consumer = consumer
    this.#options = options
    this.#isolation =
      options.isolation === 'read_committed'
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED
  }

  /**
   * One fetch round over `positions`. A position out of range is moved by the reset policy and reported
   * with no records (its nextOffset is the new position); the caller keeps nextOffset for the next round.
   */
  async fetch(positions: readonly PartitionPosition[]): Promise<FetchedPartition[]> {
    if (positions.length === 0) return []
    const topics = [...new Set(positions.map((p) => p.topic))]
    const metadata = await this.#consumer.metadata({ topics: [...topics] })
    const byNode = new Map<number, PartitionPosition[]>()
    for (const position of positions) {
      const topic = metadata.topics.get(position.topic)
      const leader = topic?.partitions[position.partition]?.leader
      if (topic === undefined || leader === undefined) {
        throw new Error(`no metadata for ${position.topic}-${position.partition}: does the topic exist?`)
      }
      // No leader now (an election): skip the partition this round.
      if (leader < 0) continue
      const list = byNode.get(leader) ?? byNode.set(leader, []).get(leader)
      list?.push(position)
    }
    const results = await Promise.all(
      [...byNode].map(([node, list]) => this.#fetchFromNode(node, list, metadata)),
    )
    return results.flat()
  }

  async #fetchFromNode(
    node: number,
    positions: readonly PartitionPosition[],
    metadata: Awaited<ReturnType<Consumer['metadata']>>,
  ): Promise<FetchedPartition[]> {
    const byId = new Map<string, string>()
    const requestTopics = new Map<string, { topicId: string; partitions: object[] }>()
    const requested = new Map<string, number>()
    for (const p of positions) {
      const topic = metadata.topics.get(p.topic)
      if (topic === undefined) throw new Error(`no metadata for ${p.topic}`)
      byId.set(topic.id, p.topic)
      const entry =
        requestTopics.get(p.topic) ??
        requestTopics.set(p.topic, { topicId: topic.id, partitions: [] }).get(p.topic)
      entry?.partitions.push({
        partition: p.partition,
        fetchOffset: BigInt(p.offset),
        partitionMaxBytes: this.#options.maxBytesPerPartition ?? 8 * 1024 * 1024,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      })
      requested.set(partitionKey(p.topic, p.partition), p.offset)
    }
    let response: FetchResponse
    try {
      response = await unfilteredFetch(this.#consumer, metadata.brokers.get(node), {
        topics: [...requestTopics.values()],
        byId,
        isolationLevel: this.#isolation,
        maxWaitTime: this.#options.maxWaitMs ?? 100,
        maxBytes: this.#options.maxBytes ?? 32 * 1024 * 1024,
      })
    } catch (error) {
      return this.#recoverOutOfRange(error, byId, positions)
    }
    const out: FetchedPartition[] = []
    for (const topicResponse of response.responses) {
      const topic = byId.get(topicResponse.topicId) ?? topicResponse.topicId
      for (const p of topicResponse.partitions) {
        const from = requested.get(partitionKey(topic, p.partitionIndex))
        if (from === undefined) continue
        const batches = p.records ?? []
        const kept =
          this.#isolation === FetchIsolationLevels.READ_COMMITTED
            ? committedBatches(batches, p.abortedTransactions ?? [])
            : batches
        out.push(decodePartition(topic, p.partitionIndex, from, batches, kept, p))
      }
    }
    return out
  }

  // The client reports a partition error as an error of the whole request, with the response attached.
  async #recoverOutOfRange(
    error: unknown,
    byId: ReadonlyMap<string, string>,
    positions: readonly PartitionPosition[],
  ): Promise<FetchedPartition[]> {
    const response = findResponse(error)
    const outOfRange: PartitionPosition[] = []
    if (response !== undefined) {
      for (const topicResponse of response.responses) {
        const topic = byId.get(topicResponse.topicId) ?? topicResponse.topicId
        for (const p of topicResponse.partitions) {
          if (p.errorCode === 0) continue
          if (p.errorCode !== OFFSET_OUT_OF_RANGE) throw error
          const position = positions.find((q) => q.topic === topic && q.partition === p.partitionIndex)
          if (position !== undefined) outOfRange.push(position)
        }
      }
    }
    if (outOfRange.length === 0) throw error
    const policyOf = (topic: string): OffsetResetPolicy => {
      const option = this.#options.offsetReset ?? 'earliest'
      return typeof option === 'function' ? option(topic) : option
    }
    const refused = outOfRange.find((p) => policyOf(p.topic) === 'none')
    if (refused !== undefined)
      throw new OffsetOutOfRangeError(refused.topic, refused.partition, refused.offset)
    const reset = new Map([
      ...(await listOffsets(
        this.#consumer,
        outOfRange.filter((p) => policyOf(p.topic) === 'earliest'),
        'earliest',
        this.#isolation,
      )),
      ...(await listOffsets(
        this.#consumer,
        outOfRange.filter((p) => policyOf(p.topic) === 'latest'),
        'latest',
        this.#isolation,
      )),
    ])
    // Partitions that had no error come again in the next round: report no records for them.
    return positions.map((p) => {
      const moved = reset.get(partitionKey(p.topic, p.partition))
      return {
        topic: p.topic,
        partition: p.partition,
        records: [],
        nextOffset: moved ?? p.offset,
        highWatermark: -1,
        lastStableOffset: -1,
      }
    })
  }
}

/**
 * The batches a read_committed reader may see, by Kafka's rule (the Java consumer's Fetcher): walking
 * the batches in offset order, a producer is "aborted" from the first offset of each of its aborted
 * transactions the broker listed until its abort marker; its transactional batches in between are
 * dropped. Every abort marker ends the producer's range, one written alone included (a transaction
 * that added the partition but wrote nothing to it is not in the broker's list): the client's filter,
 * which this replaces, let such a marker end an earlier range and so dropped committed batches.
 */
export function committedBatches(
  batches: readonly RecordsBatch[],
  aborted: readonly { producerId: bigint; firstOffset: bigint }[],
): RecordsBatch[] {
  if (aborted.length === 0) return batches as RecordsBatch[]
  const pending = [...aborted].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  )
  let next = 0
  const abortedProducers = new Set<bigint>()
  const out: RecordsBatch[] = []
  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
    while (next < pending.length && (pending[next] as { firstOffset: bigint }).firstOffset <= last) {
      abortedProducers.add((pending[next] as { producerId: bigint }).producerId)
      next++
    }
    const transactional = (batch.attributes & IS_TRANSACTIONAL) !== 0
    if ((batch.attributes & IS_CONTROL) !== 0) {
      const type = batch.records[0]?.key?.readInt16BE(2)
      if (type === 0) abortedProducers.delete(batch.producerId)
      out.push(batch)
      continue
    }
    if (transactional && abortedProducers.has(batch.producerId)) continue
    out.push(batch)
  }
  return out
}

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>

interface FetchRequest {
  readonly topics: readonly { topicId: string; partitions: object[] }[]
  /** Topic names by id: Fetch v12 and older name topics instead. */
  readonly byId: ReadonlyMap<string, string>
  readonly isolationLevel: number
  readonly maxWaitTime: number
  readonly maxBytes: number
}

type FetchApi = ((
  connection: Connection,
  maxWaitMs: number,
  minBytes: number,
  maxBytes: number,
  isolationLevel: number,
  sessionId: number,
  sessionEpoch: number,
  topics: readonly { topicId: string; partitions: object[] }[],
  forgottenTopics: readonly never[],
  rackId: string,
  callback: Callback<FetchResponse>,
) => void) & { version: number }

/**
 * One sessionless Fetch to `broker`, its response as the broker sent it: no record filtered (see the
 * file's comment). A partition error rejects with the response attached, as Consumer.fetch does.
 */
function unfilteredFetch(consumer: Consumer, broker: unknown, request: FetchRequest): Promise<FetchResponse> {
  if (broker === undefined) return Promise.reject(new Error('no broker for the fetch: metadata is stale'))
  const client = internalsOf(consumer)
  return new Promise<FetchResponse>((resolve, reject) => {
    client[kPerformWithRetry]<FetchResponse>(
      'fetch',
      (retry) => {
        client[kGetConnection](broker, (error, connection) => {
          if (error) return retry(error)
          client[kGetApi]<FetchApi>('Fetch', (error, api) => {
            if (error) return retry(error)
            const topics =
              api.version <= 12
                ? request.topics.map((t) => ({ ...t, topicId: request.byId.get(t.topicId) ?? t.topicId }))
                : request.topics
            api(
              connection,
              request.maxWaitTime,
              1,
              request.maxBytes,
              request.isolationLevel,
              0,
              -1,
              topics,
              [],
              '',
              (error, response) => retry(error, response),
            )
          })
        })
      },
      (error, response) => (error ? reject(error) : resolve(response)),
      0,
    )
  })
}

// The response of a failed fetch, wherever the client nested it (MultipleErrors after a retry).
function findResponse(error: unknown, depth = 0): FetchResponse | undefined {
  if (error === null || typeof error !== 'object' || depth > 5) return undefined
  const { response, errors, cause } = error as { response?: unknown; errors?: unknown; cause?: unknown }
  if (
    response !== undefined &&
    typeof response === 'object' &&
    response !== null &&
    'responses' in response
  ) {
    return response as FetchResponse
  }
  if (Array.isArray(errors)) {
    for (const nested of errors) {
      const found = findResponse(nested, depth + 1)
      if (found !== undefined) return found
    }
  }
  return findResponse(cause, depth + 1)
}

function decodePartition(
  topic: string,
  partition: number,
  from: number,
  all: readonly RecordsBatch[],
  kept: readonly RecordsBatch[],
  p: { highWatermark: bigint; lastStableOffset: bigint },
): FetchedPartition {
  const records: FetchedRecord[] = []
  let nextOffset = from
  // Positions advance over every batch, dropped ones included.
  for (const batch of all) {
    const last = Number(batch.firstOffset) + batch.lastOffsetDelta
    if (last + 1 > nextOffset) nextOffset = last + 1
  }
  let commitMarkers: bigint[] | undefined
  for (const batch of kept) {
    const first = Number(batch.firstOffset)
    if ((batch.attributes & IS_CONTROL) !== 0) {
      // A control record's key: version (int16), type (int16: 0 abort, 1 commit).
      if (first >= from && batch.records[0]?.key?.readInt16BE(2) === 1) {
        commitMarkers ??= []
        commitMarkers.push(batch.producerId)
      }
      continue
    }
    const firstTimestamp = Number(batch.firstTimestamp)
    for (const record of batch.records) {
      const offset = first + record.offsetDelta
      if (offset < from) continue
      records.push({
        topic,
        partition,
        offset,
        timestamp: firstTimestamp + Number(record.timestampDelta),
        key: record.key,
        value: record.value,
        headers: record.headers.length === 0 ? NO_HEADERS : decodeHeaders(record.headers),
      })
    }
  }
  return {
    topic,
    partition,
    records,
    nextOffset,
    highWatermark: Number(p.highWatermark),
    lastStableOffset: Number(p.lastStableOffset),
    ...(commitMarkers === undefined ? {} : { commitMarkers }),
  }
}

function decodeHeaders(headers: readonly [Buffer | null, Buffer | null][]): ReadonlyMap<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (const [k, v] of headers) if (k !== null) out.set(k.toString(), v ?? Buffer.alloc(0))
  return out
}

/**
 * Offsets of partitions by policy: earliest (log start), latest (high watermark, or the last stable
 * offset under read_committed, which is where a restore ends).
 */
export async function listOffsets(
  consumer: Consumer,
  partitions: readonly { topic: string; partition: number }[],
  policy: 'earliest' | 'latest',
  isolationLevel: number = FetchIsolationLevels.READ_COMMITTED,
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (partitions.length === 0) return out
  const byTopic = partitionsByTopic(partitions)
  const offsets = await consumer.listOffsets({
    topics: [...byTopic.keys()],
    partitions: Object.fromEntries(byTopic),
    timestamp: policy === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
    isolationLevel,
  })
  for (const p of partitions) {
    const value = offsets.get(p.topic)?.[p.partition]
    if (value === undefined) throw new Error(`no ${policy} offset listed for ${p.topic}-${p.partition}`)
    out.set(partitionKey(p.topic, p.partition), Number(value))
  }
  return out
}

/**
 * The same offsets through the admin client (no consumer needed): earliest (log start), latest (high
 * watermark, or the last stable offset under read_committed). Partitions the broker does not answer
 * for are absent from the map.
 */
export async function listOffsetsWithAdmin(
  admin: Admin,
  partitions: readonly { topic: string; partition: number }[],
  policy: 'earliest' | 'latest',
  isolationLevel: number = FetchIsolationLevels.READ_UNCOMMITTED,
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (partitions.length === 0) return out
  const timestamp = policy === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST
  const result = await admin.listOffsets({
    topics: [...partitionsByTopic(partitions)].map(([name, ids]) => ({
      name,
      partitions: ids.map((partitionIndex) => ({ partitionIndex, timestamp })),
    })),
    isolationLevel: isolationLevel as 0 | 1,
  })
  for (const topic of result)
    for (const p of topic.partitions) out.set(partitionKey(topic.name, p.partitionIndex), Number(p.offset))
  return out
}

/**
 * Where a read_committed reader of the partitions ends now (their last stable offsets), and the
 * partitions where that end is behind the high watermark: a transaction is still open there (a live
 * producer's, or a crashed one's until the broker aborts it at its timeout). With `waitMs`, lists
 * again every `pollMs` until no transaction is open, the time is up or `stop()` says so; `open` then
 * names what is still open.
 */
export async function stableEnds(
  admin: Admin,
  partitions: readonly { topic: string; partition: number }[],
  options: { waitMs?: number; pollMs?: number; stop?: () => boolean } = {},
): Promise<{ stable: Map<string, number>; open: { topic: string; partition: number }[] }> {
  const deadline = Date.now() + (options.waitMs ?? 0)
  for (;;) {
    const stable = await listOffsetsWithAdmin(
      admin,
      partitions,
      'latest',
      FetchIsolationLevels.READ_COMMITTED,
    )
    const high = await listOffsetsWithAdmin(
      admin,
      partitions,
      'latest',
      FetchIsolationLevels.READ_UNCOMMITTED,
    )
    const open = partitions.filter((p) => {
      const key = partitionKey(p.topic, p.partition)
      return (stable.get(key) ?? 0) < (high.get(key) ?? 0)
    })
    if (open.length === 0 || Date.now() >= deadline || options.stop?.() === true) return { stable, open }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100))
  }
}
