// The exactly-once committer on a worker thread. The Kafka client builds every produce request on the
// thread that calls it (record encoding, batch CRCs, buffer copies): about a fifth of the processing
// thread's time on the Agent Party topology, spent while processing waits. Here the transactional
// producer and its TransactionalCommitter live in a worker; the processing thread packs each batch
// of records into one ArrayBuffer, transfers it (no copy), and goes on.
//
// The worker runs the same TransactionalCommitter, in the same order (messages between two threads
// arrive in the order sent), so the transaction protocol is unchanged: records handed off travel in
// the transaction the next commit completes, and a commit resolves only once the coordinator has
// committed its records and offsets together. Errors come back as plain trees of the fields the
// runtime classifies them by (message, code, apiId, nested errors, cause). If the worker dies, every
// commit in flight and every later one fails, as a lost producer would: the runtime renews it.
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { HeapInfo } from 'node:v8'
import { Worker } from 'node:worker_threads'
import type { KafkaConfig } from '../../kafka/clients.js'
import type { TopicPartitionOffset } from '../internals/runtime/stream-task.js'
import type { Committer, GroupMember, GroupSource, OutgoingRecord } from './committer.js'

/** What the worker needs to build the producer (plain data: it is copied to the worker). */
export interface ProducerThreadOptions {
  readonly kafka: KafkaConfig
  readonly transactionalId: string
  readonly clientId: string
  /** The producer's request timeout (ms). */
  readonly timeout: number
}

/** The producer id and epoch the transactions carry (for the runtime's debug logs). */
export interface ProducerIdentity {
  readonly producerId: bigint | undefined
  readonly producerEpoch: number | undefined
}

/** A packed batch of records: the topic names once, and one buffer for everything else. */
export interface PackedRecords {
  readonly topics: string[]
  readonly buffer: ArrayBuffer
  readonly count: number
}

/** The messages that get a reply (by id). */
type Call =
  | { op: 'initialize' }
  | { op: 'commit'; records: PackedRecords; offsets: readonly TopicPartitionOffset[]; member: GroupMember }
  | { op: 'close' }

export type ToWorker =
  | (Call & { id: number })
  | { op: 'handoff'; records: PackedRecords }
  | { op: 'discard' }
  | { op: 'exit' }

export type FromWorker =
  | { id: number; ok: true; identity: ProducerIdentity }
  | { id: number; ok: false; error: ErrorTree; identity: ProducerIdentity }

/** An error as data: what errorText() and the logs read, nested errors and cause included. */
export interface ErrorTree {
  name: string
  message: string
  stack?: string
  code?: string
  apiId?: string
  errors?: ErrorTree[]
  cause?: ErrorTree
}

export function toErrorTree(error: unknown, depth = 0): ErrorTree {
  if (typeof error !== 'object' || error === null) return { name: 'Error', message: String(error) }
  const e = error as Record<string, unknown>
  const tree: ErrorTree = {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(error),
  }
  if (typeof e.stack === 'string') tree.stack = e.stack
  if (typeof e.code === 'string') tree.code = e.code
  if (typeof e.apiId === 'string') tree.apiId = e.apiId
  if (depth < 6) {
    if (Array.isArray(e.errors)) tree.errors = e.errors.map((nested) => toErrorTree(nested, depth + 1))
    if (e.cause !== undefined) tree.cause = toErrorTree(e.cause, depth + 1)
  }
  return tree
}

export function fromErrorTree(tree: ErrorTree): Error {
  const error = new Error(tree.message, tree.cause === undefined ? {} : { cause: fromErrorTree(tree.cause) })
  const fields = error as Error & { code?: string; apiId?: string; errors?: Error[] }
  error.name = tree.name
  if (tree.stack !== undefined) error.stack = tree.stack
  if (tree.code !== undefined) fields.code = tree.code
  if (tree.apiId !== undefined) fields.apiId = tree.apiId
  if (tree.errors !== undefined) fields.errors = tree.errors.map(fromErrorTree)
  return error
}

// ---- packing ------------------------------------------------------------------------------------
// Per record: u16 topic index, i32 partition (-1: by key), f64 timestamp (-1: none), then key and
// value as i32 length (-1: absent) and bytes, then u16 header count and each header's key and value
// the same way. Little-endian throughout; both ends are this file.

const NONE = -1

function headerEntries(record: OutgoingRecord): [Buffer, Buffer][] {
  const headers = record.headers
  if (headers === undefined) return []
  if (headers instanceof Map) return [...headers]
  return Object.entries(headers).map(([k, v]) => [Buffer.from(k), v])
}

export function packRecords(records: readonly OutgoingRecord[]): PackedRecords {
  const topics: string[] = []
  const topicIndex = new Map<string, number>()
  const headers: ([Buffer, Buffer][] | undefined)[] = new Array(records.length)
  let size = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as OutgoingRecord
    if (!topicIndex.has(r.topic)) {
      topicIndex.set(r.topic, topics.length)
      topics.push(r.topic)
    }
    size += 2 + 4 + 8 + 4 + (r.key?.length ?? 0) + 4 + (r.value?.length ?? 0) + 2
    if (r.headers !== undefined) {
      const entries = headerEntries(r)
      headers[i] = entries
      for (const [k, v] of entries) size += 8 + k.length + v.length
    }
  }
  const bytes = Buffer.from(new ArrayBuffer(size))
  let at = 0
  const writeBytes = (value: Buffer | undefined): void => {
    if (value === undefined) {
      at = bytes.writeInt32LE(NONE, at)
      return
    }
    at = bytes.writeInt32LE(value.length, at)
    at += value.copy(bytes, at)
  }
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as OutgoingRecord
    at = bytes.writeUInt16LE(topicIndex.get(r.topic) as number, at)
    at = bytes.writeInt32LE(r.partition ?? NONE, at)
    at = bytes.writeDoubleLE(r.timestamp === undefined ? NONE : Number(r.timestamp), at)
    writeBytes(r.key)
    writeBytes(r.value)
    const entries = headers[i]
    at = bytes.writeUInt16LE(entries?.length ?? 0, at)
    if (entries !== undefined) {
      for (const [k, v] of entries) {
        writeBytes(k)
        writeBytes(v)
      }
    }
  }
  return { topics, buffer: bytes.buffer as ArrayBuffer, count: records.length }
}

/** The records of a packed batch; keys, values and headers are views of its buffer (no copy). */
export function unpackRecords(packed: PackedRecords): OutgoingRecord[] {
  const bytes = Buffer.from(packed.buffer)
  const records: OutgoingRecord[] = new Array(packed.count)
  let at = 0
  const readBytes = (): Buffer | undefined => {
    const length = bytes.readInt32LE(at)
    at += 4
    if (length === NONE) return undefined
    const value = bytes.subarray(at, at + length)
    at += length
    return value
  }
  for (let i = 0; i < packed.count; i++) {
    const topic = packed.topics[bytes.readUInt16LE(at)] as string
    const partition = bytes.readInt32LE(at + 2)
    const timestamp = bytes.readDoubleLE(at + 6)
    at += 14
    const record: OutgoingRecord = { topic }
    if (partition !== NONE) record.partition = partition
    if (timestamp !== NONE) record.timestamp = BigInt(timestamp)
    const key = readBytes()
    if (key !== undefined) record.key = key
    const value = readBytes()
    if (value !== undefined) record.value = value
    const headerCount = bytes.readUInt16LE(at)
    at += 2
    if (headerCount > 0) {
      const headers = new Map<Buffer, Buffer>()
      for (let h = 0; h < headerCount; h++) headers.set(readBytes() as Buffer, readBytes() as Buffer)
      record.headers = headers
    }
    records[i] = record
  }
  return records
}

// ---- the processing thread's side -----------------------------------------------------------------

/** The committer's worker, for tests that end it as a crash would. */
export const kProducerWorker = Symbol('producer thread worker')

interface Pending {
  resolve(): void
  reject(error: Error): void
}

/**
 * A Committer whose transactional producer runs on a worker thread. `group` is read at each commit
 * (the consumer's member id and coordinator change with the group).
 */
export class ThreadedTransactionalCommitter implements Committer {
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  #nextId = 0
  /** Why the worker is gone: every call after that fails with it. */
  #dead: Error | undefined
  #identity: ProducerIdentity = { producerId: undefined, producerEpoch: undefined }

  constructor(
    options: ProducerThreadOptions,
    private readonly group: () => GroupSource,
  ) {
    // Under tsx or vitest this file is TypeScript: the worker compiles its entry the same way.
    const typescript = import.meta.url.endsWith('.ts')
    const entry = new URL(`./producer-thread-worker.${typescript ? 'ts' : 'js'}`, import.meta.url)
    this.#worker = new Worker(entry, {
      workerData: options,
      ...(typescript ? { execArgv: ['--import', 'tsx'] } : {}),
    })
    this.#worker.on('message', (reply: FromWorker) => {
      const call = this.#pending.get(reply.id)
      if (call === undefined) return
      this.#pending.delete(reply.id)
      this.#identity = reply.identity
      if (reply.ok) call.resolve()
      else call.reject(fromErrorTree(reply.error))
    })
    this.#worker.on('error', (error) => this.#fail(error))
    this.#worker.on('exit', (code) => this.#fail(new Error(`the producer thread exited (code ${code})`)))
  }

  get [kProducerWorker](): Worker {
    return this.#worker
  }

  /** The thread's V8 heap (as `v8.getHeapStatistics()` gives it there); undefined once it is gone. */
  async heapStatistics(): Promise<HeapInfo | undefined> {
    if (this.#dead !== undefined) return undefined
    return this.#worker.getHeapStatistics()
  }

  /** The producer id and epoch as of the last reply. */
  get identity(): ProducerIdentity {
    return this.#identity
  }

  #fail(error: Error): void {
    this.#dead ??= error
    for (const call of this.#pending.values()) call.reject(this.#dead)
    this.#pending.clear()
  }

  #call(message: Call, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead)
    const id = this.#nextId++
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#worker.postMessage({ ...message, id }, transfer)
    })
  }

  initialize(): Promise<void> {
    return this.#call({ op: 'initialize' })
  }

  handoff(records: OutgoingRecord[]): void {
    if (records.length === 0 || this.#dead !== undefined) return
    const packed = packRecords(records)
    this.#worker.postMessage({ op: 'handoff', records: packed } satisfies ToWorker, [packed.buffer])
  }

  discard(): void {
    if (this.#dead === undefined) this.#worker.postMessage({ op: 'discard' } satisfies ToWorker)
  }

  commit(
    records: OutgoingRecord[],
    offsets: readonly TopicPartitionOffset[],
    generationId: number,
  ): Promise<void> {
    const packed = packRecords(records)
    const { groupId, memberId, coordinatorId } = this.group()
    const member = { groupId, memberId: memberId ?? '', coordinatorId: coordinatorId ?? 0, generationId }
    return this.#call({ op: 'commit', records: packed, offsets, member }, [packed.buffer])
  }

  /** Closes the producer, then ends the thread; later calls fail. Fails only if closing the producer fails. */
  async close(): Promise<void> {
    try {
      // A thread that is gone has nothing left to close.
      if (this.#dead === undefined) await this.#call({ op: 'close' })
    } finally {
      if (this.#dead === undefined) {
        this.#dead = new Error('the producer thread is closed')
        // The thread ends on its own (writing a --cpu-prof profile), or is stopped a second later.
        const exited = once(this.#worker, 'exit').catch(() => {})
        this.#worker.postMessage({ op: 'exit' } satisfies ToWorker)
        // (Unref'd: a process that is done need not wait for the timer.)
        await Promise.race([exited, sleep(1000, undefined, { ref: false })])
      }
      await this.#worker.terminate()
    }
  }
}
