// Runs one sink target: consumes its topics read_committed in the sink's own consumer group, decodes,
// batches by size and time, and hands batches to the target, which applies each atomically with the
// offsets it stores (sinks/runtime/target.ts). The runner's positions come from the target, never
// from the group: on assignment, and after every failed apply, it asks the target where each
// partition's applied log ends and fetches from the next offset. The group's offsets are still
// committed after each batch so that lag tools see the sink's progress; they are never read back.
//
// Failures: a transient one (the target down) stops consumption (nothing fetched, nothing dropped)
// and retries with capped exponential backoff and jitter, re-reading the stored offsets before going
// on; a batch the target refuses for its data is split until the record at fault is found, which
// goes to the dead-letter topic with the reason (as does a record that does not decode); a fatal one
// (credentials, permissions) stops the runner with the error.
import type { Consumer, Producer } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { SinkMetrics } from '../../config/metrics.js'
import { createAdmin, createConsumer, createProducer, type KafkaConfig } from '../../kafka/clients.js'
import { deadLetterRecord, letterTopicSpec } from '../../kafka/dead-letter.js'
import {
  type FetchedRecord,
  type OffsetResetPolicy,
  PartitionFetcher,
  partitionKey,
} from '../../kafka/partition-fetcher.js'
import { ensureTopics } from '../../kafka/topics.js'
import type { DecodedRecord, FailureKind, PartitionBatch, SinkTarget, TopicPartition } from './target.js'

export interface SinkRunnerOptions<T> {
  readonly kafka: KafkaConfig
  readonly target: SinkTarget<T>
  /** Consumer group. Default `agent-party-sink-<target.name>`. */
  readonly groupId?: string
  /**
   * A stable id of this instance (static membership): a restarted instance with the same id takes
   * its partitions back at once instead of after the session timeout. Optional.
   */
  readonly instanceId?: string
  /** Default `<groupId>-dlq`. Created when missing. */
  readonly deadLetterTopic?: string
  /** Records per apply at most. Default 1,000. */
  readonly batchSize?: number
  /** How long a batch smaller than batchSize waits for more records. Default 50 ms. */
  readonly lingerMs?: number
  /** Records fetched and not yet applied, at most (fetching pauses above it). Default 20,000. */
  readonly maxBufferedRecords?: number
  /** Applies running at once, each over its own partitions. Default 1. */
  readonly concurrency?: number
  /** How often target.tick runs. Default 1 s. */
  readonly tickMs?: number
  /** Backoff of retries: first wait and cap. Default 100 ms and 30 s. */
  readonly retryInitialMs?: number
  readonly retryMaxMs?: number
  /** Where a partition with no stored offset starts. Default earliest. */
  readonly autoOffsetReset?: Exclude<OffsetResetPolicy, 'none'>
  readonly sessionTimeoutMs?: number
  readonly heartbeatIntervalMs?: number
  readonly rebalanceTimeoutMs?: number
  readonly replicationFactor?: number
  /**
   * Where positions come from after an assignment or a failure. `target` (the default): the offsets
   * stored with the data, which is what makes the sink exactly-once. `group`: the group's committed
   * offsets, committed every `groupCommitIntervalMs` as Kafka's auto-commit does: at-least-once, what
   * was applied after the last commit is applied again after a crash. Only for comparison (the chaos
   * test shows that it can tell the difference).
   */
  readonly positionsFrom?: 'target' | 'group'
  /** With positionsFrom `group`: how often the group's offsets are committed. Default 5 s. */
  readonly groupCommitIntervalMs?: number
  readonly metrics?: SinkMetrics
  readonly logger?: Logger
}

export type SinkRunnerState = 'CREATED' | 'STARTING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'ERROR'

export interface SinkRunnerStatus {
  readonly state: SinkRunnerState
  /** Partitions this instance owns now. */
  readonly assigned: readonly TopicPartition[]
  /** The target failed and the runner waits to retry (the target is down). */
  readonly retrying: boolean
  readonly lastError?: string
  /** Offset of the last record applied (or covered) per partition this instance owns. */
  readonly applied: ReadonlyMap<string, number>
}

export class SinkFatalError extends Error {
  readonly code = 'SINK_FATAL'
  constructor(
    readonly sink: string,
    cause: unknown,
  ) {
    super(`sink ${sink} stopped: ${messageOf(cause)}`, { cause })
    this.name = 'SinkFatalError'
  }
}

/** Dead-letter codes of the sinks (the `dead-letter.code` header). */
export const SINK_DEAD_LETTER_CODES = Object.freeze({
  /** The record's value could not be decoded. */
  undecodable: 'SINK_UNDECODABLE',
  /** The target refused the record (alone in its batch). */
  rejected: 'SINK_REJECTED',
})

interface Pending<T> {
  readonly topic: string
  readonly partition: number
  records: DecodedRecord<T>[]
  /** Offset of the last record fetched for this partition (applied or dead-lettered). */
  lastOffset: number
  /** Records that failed to decode, to dead-letter before the batch covering them is applied. */
  poison: { record: FetchedRecord; reason: string }[]
}

interface FetchRound {
  readonly epoch: number
  readonly promise: Promise<Awaited<ReturnType<PartitionFetcher['fetch']>>>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
// A bound raced against work that usually ends first: unref'd, so that it never keeps a stopped
// process alive until it fires (a SIGTERM'd `run sinks` exited only after the 30 s bound).
const bound = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

export class SinkRunner<T> {
  readonly #options: SinkRunnerOptions<T>
  readonly #target: SinkTarget<T>
  readonly #groupId: string
  readonly #deadLetterTopic: string
  readonly #batchSize: number
  readonly #lingerMs: number
  readonly #maxBuffered: number
  readonly #concurrency: number
  readonly #tickMs: number
  #state: SinkRunnerState = 'CREATED'
  #consumer: Consumer | undefined
  #producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined
  #fetcher: PartitionFetcher | undefined
  #loop: Promise<void> | undefined
  #stopping = false
  /** The assignment the loop follows; the client replaces its array on every change. */
  #followed: Consumer['assignments'] = null
  #assigned: TopicPartition[] = []
  /** Next offset to fetch, per partition. */
  readonly #positions = new Map<string, number>()
  /** Offset last applied or covered, per partition (status and group commits). */
  readonly #applied = new Map<string, number>()
  readonly #pending = new Map<string, Pending<T>>()
  #pendingCount = 0
  #pendingSince = 0
  /** Bumped whenever positions are reset: a fetch started before is dropped. */
  #epoch = 0
  #prefetch: FetchRound | undefined
  #applying: Promise<unknown> | undefined
  #joining = false
  #retrying = false
  #attempt = 0
  #lastError: string | undefined
  #lastTick = 0
  #fatal: unknown
  #lastGroupCommit = 0

  constructor(options: SinkRunnerOptions<T>) {
    this.#options = options
    this.#target = options.target
    this.#groupId = options.groupId ?? `agent-party-sink-${options.target.name}`
    this.#deadLetterTopic = options.deadLetterTopic ?? `${this.#groupId}-dlq`
    this.#batchSize = positive('batchSize', options.batchSize ?? 1000)
    this.#lingerMs = nonNegative('lingerMs', options.lingerMs ?? 50)
    this.#maxBuffered = positive('maxBufferedRecords', options.maxBufferedRecords ?? 20_000)
    this.#concurrency = positive('concurrency', options.concurrency ?? 1)
    this.#tickMs = positive('tickMs', options.tickMs ?? 1000)
    if (this.#maxBuffered < this.#batchSize)
      throw new RangeError(
        `maxBufferedRecords (${this.#maxBuffered}) must be at least batchSize (${this.#batchSize})`,
      )
  }

  get state(): SinkRunnerState {
    return this.#state
  }

  get groupId(): string {
    return this.#groupId
  }

  get deadLetterTopic(): string {
    return this.#deadLetterTopic
  }

  status(): SinkRunnerStatus {
    return {
      state: this.#state,
      assigned: [...this.#assigned],
      retrying: this.#retrying,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      applied: new Map(this.#applied),
    }
  }

  /** Resolves when the loop ends: after stop(), or rejects with the fatal error that stopped it. */
  get done(): Promise<void> {
    return this.#loop ?? Promise.resolve()
  }

  async start(): Promise<void> {
    if (this.#state !== 'CREATED') throw new Error(`sink ${this.#target.name} already started`)
    this.#state = 'STARTING'
    const { kafka, target } = this.#options
    try {
      await target.open()
      const admin = createAdmin(kafka, `sink-${target.name}-admin`)
      try {
        const existing = new Set(await admin.listTopics())
        const missing = target.topics.filter((t) => !existing.has(t))
        if (missing.length > 0)
          throw new SinkFatalError(
            target.name,
            new Error(
              `its topics ${missing.join(', ')} do not exist: provision them (agent-party topics create) or start the processors first`,
            ),
          )
        // Created when missing; kept as it is when present (more partitions, another retention).
        if (!existing.has(this.#deadLetterTopic)) {
          await ensureTopics(
            admin,
            [letterTopicSpec(this.#deadLetterTopic)],
            this.#options.replicationFactor ?? 1,
          )
        }
      } finally {
        await admin.close().catch(() => {})
      }
      this.#producer = createProducer<Buffer, Buffer, Buffer, Buffer>(kafka, {
        clientId: `sink-${target.name}-dlq`,
      })
      const instanceId = this.#options.instanceId
      this.#consumer = createConsumer(kafka, this.#groupId, {
        clientId: `sink-${target.name}${instanceId ? `-${instanceId}` : ''}`,
        ...(instanceId ? { groupInstanceId: `${instanceId}-sink-${target.name}` } : {}),
        sessionTimeout: this.#options.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: this.#options.heartbeatIntervalMs ?? 3_000,
        rebalanceTimeout: this.#options.rebalanceTimeoutMs ?? 60_000,
        autocommit: false,
        // Before the client rejoins (a member came or went), let the batch in flight finish, so the
        // next owner of its partitions starts after it and reads its stored offsets.
        protocolsMetadata: () => this.#beforeJoin(),
      } as never)
      this.#consumer.on('error', (error: unknown) => this.#fail(error))
      this.#consumer.on('consumer:group:join', () => {
        this.#joining = false
      })
      this.#fetcher = new PartitionFetcher(this.#consumer, {
        isolation: 'read_committed',
        maxWaitMs: 100,
        offsetReset: this.#options.autoOffsetReset ?? 'earliest',
      })
      for (const topic of target.topics) this.#consumer.topics.track(topic)
      this.#joining = true
      await this.#consumer.joinGroup({})
    } catch (error) {
      await this.#closeClients()
      this.#state = 'ERROR'
      throw error
    }
    this.#state = 'RUNNING'
    this.#loop = this.#run()
  }

  /**
   * Applies what is fetched, commits the group's offsets, leaves the group and closes. Bounded by
   * `timeoutMs`: past it the clients close anyway (what was not applied is applied by the next owner).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.#state === 'STOPPED' || this.#state === 'CREATED') {
      this.#state = 'STOPPED'
      return
    }
    this.#stopping = true
    if (this.#state !== 'ERROR') this.#state = 'STOPPING'
    const loop = this.#loop ?? Promise.resolve()
    await Promise.race([loop.catch(() => {}), bound(timeoutMs)])
    const consumer = this.#consumer
    if (consumer !== undefined && consumer.memberId !== null)
      await Promise.race([
        new Promise<void>((resolve) => consumer.leaveGroup(true, () => resolve())),
        bound(5000),
      ])
    await this.#closeClients()
    if (this.#state !== 'ERROR') this.#state = 'STOPPED'
  }

  async #closeClients(): Promise<void> {
    await this.#consumer?.close(true).catch(() => {})
    await this.#producer?.close().catch(() => {})
    await this.#target.close().catch(() => {})
  }

  #fail(error: unknown): void {
    if (this.#fatal !== undefined) return
    this.#fatal = error
    this.#lastError = messageOf(error)
    this.#options.logger?.error({ err: error, sink: this.#target.name }, 'sink stopped by a fatal error')
  }

  async #beforeJoin(): Promise<Buffer> {
    this.#joining = true
    const applying = this.#applying
    if (applying !== undefined) {
      const budget = (this.#options.sessionTimeoutMs ?? 30_000) / 2
      await Promise.race([applying.catch(() => {}), bound(budget)])
    }
    return Buffer.alloc(0)
  }

  async #run(): Promise<void> {
    try {
      while (!this.#stopping) {
        if (this.#fatal !== undefined) throw this.#fatal
        if (this.#joining) {
          await sleep(20)
          continue
        }
        const consumer = this.#consumer as Consumer
        if (consumer.assignments !== this.#followed) {
          await this.#followAssignment()
          continue
        }
        if (this.#assigned.length === 0) {
          await sleep(50)
          continue
        }
        await this.#step()
      }
      // Stopping: apply what was fetched, so the next owner does not fetch it again.
      if (this.#fatal === undefined && !this.#joining && this.#pending.size > 0)
        await this.#flush().catch((error) =>
          this.#options.logger?.warn({ err: error }, 'last batch not applied at stop'),
        )
    } catch (error) {
      this.#state = 'ERROR'
      this.#lastError = messageOf(error)
      throw error instanceof SinkFatalError ? error : new SinkFatalError(this.#target.name, error)
    }
  }

  // The assignment moved (or this is the first one): forget every position and ask the target where
  // each owned partition's applied log ends.
  async #followAssignment(): Promise<void> {
    const consumer = this.#consumer as Consumer
    const assignments = consumer.assignments
    this.#followed = assignments
    const next: TopicPartition[] = []
    for (const a of assignments ?? [])
      for (const partition of a.partitions) next.push({ topic: a.topic, partition })
    const nextKeys = new Set(next.map((p) => partitionKey(p.topic, p.partition)))
    const revoked = this.#assigned.filter((p) => !nextKeys.has(partitionKey(p.topic, p.partition)))
    this.#assigned = next
    this.#options.metrics?.rebalanced(this.#target.name)
    for (const p of revoked) this.#applied.delete(partitionKey(p.topic, p.partition))
    if (revoked.length > 0 && this.#target.revoke !== undefined) await this.#target.revoke(revoked)
    this.#options.logger?.info(
      { sink: this.#target.name, partitions: next.length, revoked: revoked.length },
      'sink assignment',
    )
    await this.#restartUntilDone()
  }

  /** Resets every position to the target's stored offsets, retrying while the target is down. */
  async #restartUntilDone(): Promise<void> {
    this.#epoch++
    this.#prefetch = undefined
    this.#pending.clear()
    this.#pendingCount = 0
    this.#positions.clear()
    while (!this.#stopping) {
      try {
        let stored = await this.#target.restart(this.#assigned)
        if (this.#options.positionsFrom === 'group') stored = await this.#groupOffsets()
        for (const p of this.#assigned) {
          const key = partitionKey(p.topic, p.partition)
          const offset = stored.get(key)
          // No stored offset: from offset 0, which the fetcher moves to the log start when it is gone.
          this.#positions.set(key, offset === undefined ? this.#initialOffset() : offset + 1)
          if (offset !== undefined) this.#applied.set(key, offset)
          else this.#applied.delete(key)
        }
        this.#recovered()
        return
      } catch (error) {
        await this.#backoff(error, 'restart')
      }
    }
  }

  /** The group's committed offsets as "last applied" offsets (the committed offset is the next one). */
  async #groupOffsets(): Promise<Map<string, number>> {
    const byTopic = new Map<string, number[]>()
    for (const p of this.#assigned) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition])
    const committed = await (this.#consumer as Consumer).listCommittedOffsets({
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    })
    const out = new Map<string, number>()
    for (const p of this.#assigned) {
      const next = committed.get(p.topic)?.[p.partition]
      if (next !== undefined && next >= 0n) out.set(partitionKey(p.topic, p.partition), Number(next) - 1)
    }
    return out
  }

  #rebalanced(): boolean {
    return this.#joining || (this.#consumer as Consumer).assignments !== this.#followed
  }

  #initialOffset(): number {
    // 'latest' is resolved by the fetcher as an out-of-range reset only for positions past the end;
    // a partition without stored offsets starts at the beginning unless configured otherwise.
    return this.#options.autoOffsetReset === 'latest' ? Number.MAX_SAFE_INTEGER : 0
  }

  #recovered(): void {
    if (this.#retrying)
      this.#options.logger?.info({ sink: this.#target.name }, 'sink target answers again; resuming')
    this.#retrying = false
  }

  /** Waits before the next attempt; throws a fatal error. `transient` skips the target's classify. */
  async #backoff(error: unknown, during: string, transient = false): Promise<void> {
    if (!transient && this.#classify(error) === 'fatal') throw new SinkFatalError(this.#target.name, error)
    this.#retrying = true
    this.#lastError = messageOf(error)
    this.#options.metrics?.retry(this.#target.name, 'transient')
    const initial = this.#options.retryInitialMs ?? 100
    const cap = this.#options.retryMaxMs ?? 30_000
    const ceiling = Math.min(cap, initial * 2 ** Math.min(this.#attempt, 30))
    this.#attempt++
    // Full jitter over the upper half: instances that failed together do not retry together.
    const wait = ceiling / 2 + Math.random() * (ceiling / 2)
    this.#options.logger?.warn(
      { err: error, sink: this.#target.name, during, attempt: this.#attempt, waitMs: Math.round(wait) },
      'sink target failed; retrying',
    )
    await sleep(wait)
  }

  #classify(error: unknown): FailureKind {
    if (error instanceof SinkFatalError) return 'fatal'
    try {
      return this.#target.classify(error)
    } catch {
      return 'fatal'
    }
  }

  #startFetch(): FetchRound {
    const positions = this.#assigned.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: this.#positions.get(partitionKey(p.topic, p.partition)) ?? 0,
    }))
    const promise = (this.#fetcher as PartitionFetcher).fetch(positions)
    promise.catch(() => {})
    return { epoch: this.#epoch, promise }
  }

  async #step(): Promise<void> {
    if (this.#pendingCount < this.#maxBuffered) {
      const round = this.#prefetch ?? this.#startFetch()
      this.#prefetch = undefined
      let fetched: Awaited<FetchRound['promise']>
      try {
        fetched = await round.promise
      } catch (error) {
        this.#options.logger?.warn({ err: error, sink: this.#target.name }, 'fetch failed; retrying')
        await sleep(500)
        await (this.#consumer as Consumer)
          .metadata({ topics: [...this.#target.topics], forceUpdate: true })
          .catch(() => {})
        return
      }
      if (round.epoch !== this.#epoch) return
      if (!(await this.#take(fetched))) return
    }
    await this.#tickIfDue()
    const now = Date.now()
    const due =
      this.#pendingCount >= this.#batchSize ||
      this.#pendingCount >= this.#maxBuffered ||
      (this.#pending.size > 0 && now - this.#pendingSince >= this.#lingerMs)
    if (!due) return
    // The next fetch travels while this batch is applied.
    if (this.#pendingCount < this.#maxBuffered) this.#prefetch = this.#startFetch()
    await this.#flush()
  }

  /** Decodes a fetch into the pending batch. False when the target could not prepare (retry). */
  async #take(fetched: Awaited<FetchRound['promise']>): Promise<boolean> {
    const records = fetched.flatMap((p) => p.records)
    if (records.length > 0 && this.#target.prepare !== undefined) {
      try {
        await this.#target.prepare(records)
      } catch (error) {
        await this.#backoff(error, 'prepare', true)
        await this.#restartUntilDone()
        return false
      }
    }
    const epoch = this.#epoch
    for (const batch of fetched) {
      const key = partitionKey(batch.topic, batch.partition)
      if (!this.#positions.has(key) || epoch !== this.#epoch) continue
      this.#positions.set(key, batch.nextOffset)
      if (batch.lastStableOffset >= 0)
        this.#options.metrics?.partitionLag(
          this.#target.name,
          batch.topic,
          batch.partition,
          Math.max(0, batch.lastStableOffset - batch.nextOffset),
        )
      if (batch.records.length === 0) continue
      // Every pending partition has records fetched (applied or dead-lettered): empty means nothing waits.
      if (this.#pending.size === 0) this.#pendingSince = Date.now()
      const pending =
        this.#pending.get(key) ??
        this.#pending
          .set(key, {
            topic: batch.topic,
            partition: batch.partition,
            records: [],
            lastOffset: -1,
            poison: [],
          })
          .get(key)
      if (pending === undefined) continue
      for (const record of batch.records) {
        pending.lastOffset = record.offset
        if (record.value === null) {
          pending.records.push({ ...recordPlace(record), value: null })
          this.#pendingCount++
          continue
        }
        try {
          const value = this.#target.decode(record)
          pending.records.push({ ...recordPlace(record), value })
          this.#pendingCount++
        } catch (error) {
          pending.poison.push({ record, reason: messageOf(error) })
        }
      }
    }
    return true
  }

  async #tickIfDue(): Promise<void> {
    const tick = this.#target.tick
    if (tick === undefined) return
    const now = Date.now()
    if (now - this.#lastTick < this.#tickMs) return
    this.#lastTick = now
    try {
      await tick.call(this.#target, now)
      this.#attempt = 0
    } catch (error) {
      await this.#backoff(error, 'tick')
      await this.#restartUntilDone()
    }
  }

  // Applies everything pending, in batches of at most batchSize records, each partition in offset
  // order. A transient failure resets every position to the stored offsets after the backoff.
  async #flush(): Promise<void> {
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    this.#pendingCount = 0
    const epoch = this.#epoch
    try {
      await this.#deadLetterPoison(pending)
      for (const batch of chunk(pending, this.#batchSize)) {
        // A rebalance began (or ended while the last chunk was applied): stop here; the positions are
        // read from the target after the new assignment is taken.
        if (epoch !== this.#epoch || this.#fatal !== undefined || this.#rebalanced()) return
        const applying = this.#applyLanes(batch)
        this.#applying = applying
        try {
          await applying
        } finally {
          this.#applying = undefined
        }
        this.#attempt = 0
        this.#recovered()
        for (const p of batch) this.#applied.set(partitionKey(p.topic, p.partition), p.lastOffset)
        if (this.#options.positionsFrom !== 'group') void this.#commitGroupOffsets(batch)
        else if (Date.now() - this.#lastGroupCommit >= (this.#options.groupCommitIntervalMs ?? 5000)) {
          this.#lastGroupCommit = Date.now()
          await this.#commitGroupOffsets(this.#appliedPositions())
        }
      }
    } catch (error) {
      await this.#backoff(error, 'apply')
      await this.#restartUntilDone()
    }
  }

  async #deadLetterPoison(pending: readonly Pending<T>[]): Promise<void> {
    const letters = pending.flatMap((p) =>
      p.poison.map(({ record, reason }) =>
        deadLetterRecord(
          this.#deadLetterTopic,
          {
            ...record,
            offset: BigInt(record.offset),
            timestamp: BigInt(record.timestamp),
            headers: record.headers,
          },
          { code: SINK_DEAD_LETTER_CODES.undecodable, reason, details: { sink: this.#target.name } },
        ),
      ),
    )
    if (letters.length === 0) return
    await this.#sendDeadLetters(letters)
    for (let i = 0; i < letters.length; i++)
      this.#options.metrics?.deadLetter(this.#target.name, SINK_DEAD_LETTER_CODES.undecodable)
  }

  // The batch's partitions split over `concurrency` applies at once (a partition always in one).
  async #applyLanes(batch: readonly PartitionBatch<T>[]): Promise<void> {
    if (this.#concurrency === 1 || batch.length === 1) return this.#applyResilient(batch)
    const lanes: PartitionBatch<T>[][] = Array.from(
      { length: Math.min(this.#concurrency, batch.length) },
      () => [],
    )
    for (const [i, p] of batch.entries()) lanes[i % lanes.length]?.push(p)
    const results = await Promise.allSettled(lanes.map((lane) => this.#applyResilient(lane)))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  // Applies a batch; when the target refuses its data, halves it (by partition, then by records) until
  // the record at fault is alone, dead-letters that record and covers its offset.
  async #applyResilient(batch: readonly PartitionBatch<T>[]): Promise<void> {
    const started = performance.now()
    try {
      await this.#target.apply(batch)
    } catch (error) {
      if (this.#classify(error) !== 'data') throw error
      this.#options.metrics?.retry(this.#target.name, 'data')
      if (batch.length > 1) {
        for (const p of batch) await this.#applyResilient([p])
        return
      }
      const only = batch[0] as PartitionBatch<T>
      if (only.records.length > 1) {
        const half = Math.ceil(only.records.length / 2)
        const head = only.records.slice(0, half)
        const last = head[head.length - 1] as DecodedRecord<T>
        await this.#applyResilient([{ ...only, records: head, lastOffset: last.offset }])
        await this.#applyResilient([{ ...only, records: only.records.slice(half) }])
        return
      }
      const record = only.records[0]
      if (record === undefined) throw error
      await this.#deadLetterRejected(only, record, error)
      await this.#applyResilient([{ ...only, records: [] }])
      return
    }
    const records = batch.reduce((n, p) => n + p.records.length, 0)
    this.#options.metrics?.batch(this.#target.name, performance.now() - started, records)
    for (const p of batch) this.#options.metrics?.applied(this.#target.name, p.topic, p.records.length)
  }

  async #deadLetterRejected(
    batch: PartitionBatch<T>,
    record: DecodedRecord<T>,
    error: unknown,
  ): Promise<void> {
    this.#options.logger?.warn(
      {
        err: error,
        sink: this.#target.name,
        topic: batch.topic,
        partition: batch.partition,
        offset: record.offset,
      },
      'the target refused a record: dead-lettered',
    )
    // The original bytes are not kept after decoding: the dead letter carries the key, the source and
    // the reason (the value is at that offset of the source topic while its retention lasts).
    const letter = deadLetterRecord(
      this.#deadLetterTopic,
      {
        topic: batch.topic,
        partition: batch.partition,
        offset: BigInt(record.offset),
        key: record.key,
        timestamp: BigInt(record.timestamp),
      },
      {
        code: SINK_DEAD_LETTER_CODES.rejected,
        reason: messageOf(error),
        details: { sink: this.#target.name },
      },
    )
    await this.#sendDeadLetters([letter])
    this.#options.metrics?.deadLetter(this.#target.name, SINK_DEAD_LETTER_CODES.rejected)
  }

  // Kafka is not the target: its failures are retried here (a minute at most), never classified by the
  // target. A dead letter sent and then not covered by an applied batch (a crash between the two) is
  // sent again: dead letters are at least once.
  async #sendDeadLetters(
    letters: Parameters<Producer<Buffer, Buffer, Buffer, Buffer>['send']>[0]['messages'],
  ): Promise<void> {
    const deadline = Date.now() + 60_000
    for (let attempt = 0; ; attempt++) {
      try {
        await (this.#producer as Producer<Buffer, Buffer, Buffer, Buffer>).send({ messages: letters })
        return
      } catch (error) {
        if (Date.now() > deadline || this.#stopping)
          throw new SinkFatalError(
            this.#target.name,
            new Error(`cannot write to ${this.#deadLetterTopic}: ${messageOf(error)}`),
          )
        this.#options.logger?.warn({ err: error, sink: this.#target.name }, 'dead letter not sent; retrying')
        await sleep(Math.min(5000, 100 * 2 ** attempt))
      }
    }
  }

  #appliedPositions(): { topic: string; partition: number; lastOffset: number }[] {
    return this.#assigned.flatMap((p) => {
      const lastOffset = this.#applied.get(partitionKey(p.topic, p.partition))
      return lastOffset === undefined ? [] : [{ ...p, lastOffset }]
    })
  }

  // For lag tools only (never read back, but with positionsFrom 'group'): the next offset of each
  // partition of the batch.
  #commitGroupOffsets(
    batch: readonly { topic: string; partition: number; lastOffset: number }[],
  ): Promise<void> {
    const consumer = this.#consumer
    if (consumer === undefined || this.#joining) return Promise.resolve()
    return consumer
      .commit({
        offsets: batch.map((p) => ({
          topic: p.topic,
          partition: p.partition,
          offset: BigInt(p.lastOffset + 1),
          leaderEpoch: -1,
        })),
      })
      .catch((error: unknown) =>
        this.#options.logger?.debug({ err: error, sink: this.#target.name }, 'group offset commit failed'),
      )
  }
}

/** Splits pending partitions into batches of at most `size` records (a partition may span several). */
function chunk<T>(pending: readonly Pending<T>[], size: number): PartitionBatch<T>[][] {
  const batches: PartitionBatch<T>[][] = []
  let current: PartitionBatch<T>[] = []
  let count = 0
  for (const p of pending) {
    if (p.lastOffset < 0) continue
    let from = 0
    do {
      const room = size - count
      const records = p.records.slice(from, from + room)
      from += records.length
      const rest = from < p.records.length
      const last = records[records.length - 1]
      current.push({
        topic: p.topic,
        partition: p.partition,
        records,
        lastOffset: rest && last !== undefined ? last.offset : p.lastOffset,
      })
      count += records.length
      if (count >= size) {
        batches.push(current)
        current = []
        count = 0
      }
    } while (from < p.records.length)
  }
  if (current.length > 0) batches.push(current)
  return batches
}

function recordPlace(record: FetchedRecord): Omit<DecodedRecord<never>, 'value'> {
  return { offset: record.offset, timestamp: record.timestamp, key: record.key, headers: record.headers }
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a whole number >= 1, got ${value}`)
  return value
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be >= 0, got ${value}`)
  return value
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export { chunk as chunkPending }
