// The Redis sink target: writes the processors' entity snapshots, windowed results and alerts into
// the read model the API serves (layout in keys.ts and README.md), exactly once. One Lua script per
// batch (apply-script.ts) reads each partition's stored offset, applies only the records above it and
// stores the batch's last offset, all in one atomic step; every write sets a latest value (never an
// increment), so a batch applied twice changes nothing.
import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../../config/config.js'
import type { SinkMetrics } from '../../config/metrics.js'
import { type FetchedRecord, partitionKey } from '../../kafka/partition-fetcher.js'
import { OUTPUTS, type OutputName } from '../../processors/outputs.js'
import type { ProcessorSerdes } from '../../processors/serdes.js'
import type { Serde } from '../../topology/index.js'
import type {
  FailureKind,
  PartitionAudit,
  PartitionBatch,
  PartitionOffset,
  SinkTarget,
  StoredOffsets,
  TopicPartition,
} from '../runtime/target.js'
import { APPLY_SCRIPT } from './apply-script.js'
import { classifyRedisError, RedisSinkDataError } from './classify.js'
import { DEFAULT_PREFIX, RedisKeys } from './keys.js'
import { type Op, REDIS_OUTPUTS, type RedisWrite, WriteCompiler } from './writes.js'

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * The connection options every Redis client of the project adds to config.redis.url (which already
 * carries rediss://, the ACL user and its password): the CA of REDIS_TLS_CA_FILE. Pass it as
 * RedisSinkOptions.redisOptions, or as the second argument of `new Redis(url, ...)`.
 */
export function redisConnectionOptions(redis: Pick<Config['redis'], 'url' | 'tlsCa'>): RedisOptions {
  if (redis.tlsCa === undefined || !redis.url.startsWith('rediss:')) return {}
  return { tls: { ca: redis.tlsCa } }
}

/**
 * How the script treats the stored offsets: `guard` (the default, exactly-once); `unguarded` (every
 * record applied whatever the stored offset, which is still stored: the chaos test's control);
 * `none` (no offset read nor written: the benchmark's baseline, never for a deployment).
 */
export type OffsetMode = 'guard' | 'unguarded' | 'none'

export interface RedisSinkOptions {
  /** `redis://[user:password@]host:port[/db]` (config.redis.url). */
  readonly url: string
  /** The processors' serdes (createProcessorSerdes), with the deployment's output topics. */
  readonly serdes: ProcessorSerdes
  /** The sink's id. Default `redis`. */
  readonly name?: string
  /** Prefix of every key the sink writes. Default `ap:`. */
  readonly prefix?: string
  /** Topic of each output (ProcessorConfig.outputTopics); default the names of processors/outputs.ts. */
  readonly outputTopics?: Partial<Readonly<Record<OutputName, string>>>
  /** The outputs to consume; default every output the read model serves (REDIS_OUTPUTS). */
  readonly outputs?: readonly OutputName[]
  /** Window size of the metrics windows (ProcessorConfig.metricsWindowMs). Default 60 000. */
  readonly metricsWindowMs?: number
  /** Window size of the hourly outputs (ProcessorConfig.hoppingWindowMs). Default 3 600 000. */
  readonly hoppingWindowMs?: number
  /** How long a window's keys live after the window's end. Default 7 days. */
  readonly retentionMs?: number
  /** How long an alert's hash lives after its event time. Default 14 days (the alerts topic's). */
  readonly alertRetentionMs?: number
  /** Alerts kept in the recent-alerts list. Default 10 000. */
  readonly maxAlerts?: number
  /** Default `guard`. */
  readonly offsetMode?: OffsetMode
  /** A command (a batch's script included) fails after this long. Default 15 000 ms. */
  readonly commandTimeoutMs?: number
  /** Further ioredis options (they win over the sink's). */
  readonly redisOptions?: RedisOptions
  /** Accepted for the runner's wiring; the runner itself counts records and batches. */
  readonly metrics?: SinkMetrics
  readonly logger?: Logger
}

type ApplyClient = Redis & { agentPartyApplyBatch(batch: string): Promise<number> }

const MODE_ARG: Record<OffsetMode, string> = { guard: 'g', unguarded: 's', none: 'n' }

/** Transient: the connection came back since the stored offsets were read; read them again first. */
export class RedisReconnectedError extends Error {
  readonly code = 'RECONNECTED'
  constructor() {
    super('reconnected to Redis since the stored offsets were read: re-reading them before applying')
    this.name = 'RedisReconnectedError'
  }
}

export class RedisSinkTarget implements SinkTarget<RedisWrite> {
  readonly name: string
  readonly topics: readonly string[]
  readonly keys: RedisKeys
  /** The serdes it decodes with (the benchmark encodes its workload with them). */
  readonly serdes: ProcessorSerdes
  readonly #redis: ApplyClient
  readonly #outputByTopic = new Map<string, { output: OutputName; serde: Serde<Record<string, unknown>> }>()
  readonly #compiler: WriteCompiler
  readonly #mode: string
  readonly #logger: Logger | undefined
  #connectedOnce = false
  #reconnected = false
  /** The last connection-level error (an AUTH refused at reconnect says more than "closed"). */
  #connectionError: Error | undefined

  constructor(options: RedisSinkOptions) {
    this.name = options.name ?? 'redis'
    if (!/^[\w.-]+$/.test(this.name)) throw optionError('name', this.name, 'letters, digits, _ . -')
    const prefix = options.prefix ?? DEFAULT_PREFIX
    if (prefix === '') throw optionError('prefix', prefix, 'a non-empty prefix such as ap:')
    this.keys = new RedisKeys(prefix)
    const outputs = options.outputs ?? (Object.keys(REDIS_OUTPUTS) as OutputName[])
    for (const output of outputs) {
      if (REDIS_OUTPUTS[output] === undefined) {
        throw optionError('outputs', output, `some of ${Object.keys(REDIS_OUTPUTS).join(', ')}`)
      }
      const topic = options.outputTopics?.[output] ?? OUTPUTS[output].topic
      this.#outputByTopic.set(topic, { output, serde: options.serdes.output(output) })
    }
    this.topics = Object.freeze([...this.#outputByTopic.keys()])
    this.serdes = options.serdes
    this.#compiler = new WriteCompiler(this.keys, {
      retentionMs: positive('retentionMs', options.retentionMs ?? 7 * DAY_MS),
      alertRetentionMs: positive('alertRetentionMs', options.alertRetentionMs ?? 14 * DAY_MS),
      maxAlerts: positive('maxAlerts', options.maxAlerts ?? 10_000),
      metricsWindowMs: positive('metricsWindowMs', options.metricsWindowMs ?? 60_000),
      hoppingWindowMs: positive('hoppingWindowMs', options.hoppingWindowMs ?? 3_600_000),
    })
    const mode = options.offsetMode ?? 'guard'
    if (!(mode in MODE_ARG)) throw optionError('offsetMode', mode, 'guard, unguarded or none')
    this.#mode = MODE_ARG[mode]
    this.#logger = options.logger
    // Fail fast while Redis is away (no offline queue, no resend of a command in flight): the runner
    // sees a transient error and backs off, instead of a command waiting for ever.
    this.#redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5_000,
      commandTimeout: positive('commandTimeoutMs', options.commandTimeoutMs ?? 15_000),
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
      ...options.redisOptions,
    }) as ApplyClient
    this.#redis.on('error', (error: Error) => {
      this.#connectionError = error
      this.#logger?.debug({ err: error }, 'redis connection error')
    })
    this.#redis.on('ready', () => {
      this.#connectionError = undefined
      // A connection after the first one: Redis may have restarted behind what it acknowledged (AOF
      // everysec loses up to a second, offsets included). The next apply refuses, so that the runner
      // re-reads the stored offsets and fetches from there.
      if (this.#connectedOnce) this.#reconnected = true
      this.#connectedOnce = true
    })
    this.#redis.defineCommand('agentPartyApplyBatch', { numberOfKeys: 0, lua: APPLY_SCRIPT })
  }

  /** The sink's client (the read model and tests may share it). */
  get redis(): Redis {
    return this.#redis
  }

  async open(): Promise<void> {
    if (this.#redis.status === 'wait') await this.#call(() => this.#redis.connect())
    // Compiles the script now (a syntax error fails open, not the first batch); later calls go by SHA.
    await this.#redis.script('LOAD', APPLY_SCRIPT)
  }

  async prepare(records: readonly FetchedRecord[]): Promise<void> {
    const byTopic = new Map<string, Buffer[]>()
    for (const r of records) {
      if (r.value === null) continue
      let values = byTopic.get(r.topic)
      if (values === undefined) {
        values = []
        byTopic.set(r.topic, values)
      }
      values.push(r.value)
    }
    await Promise.all(
      [...byTopic].map(async ([topic, values]) => {
        await this.#outputByTopic.get(topic)?.serde.prepare?.(topic, values)
      }),
    )
  }

  decode(record: FetchedRecord): RedisWrite {
    const entry = this.#outputByTopic.get(record.topic)
    if (entry === undefined) throw new Error(`topic ${record.topic} is not one of the Redis sink's`)
    if (record.value === null) throw new Error('decode of a tombstone')
    const value = entry.serde.deserialize(record.topic, record.value)
    if (value === null || typeof value !== 'object') throw new Error(`${entry.output}: an empty value`)
    return { output: entry.output, ops: this.#compiler.upsert(entry.output, record.key, value) }
  }

  async restart(partitions: readonly TopicPartition[]): Promise<StoredOffsets> {
    this.#reconnected = false
    const offsets = new Map<string, number>()
    if (partitions.length === 0) return offsets
    const keys = partitions.map((p) => this.keys.offset(this.name, p.topic, p.partition))
    const stored = await this.#call(() => this.#redis.mget(...keys))
    partitions.forEach((p, i) => {
      const value = stored[i]
      if (value !== null && value !== undefined)
        offsets.set(partitionKey(p.topic, p.partition), Number(value))
    })
    return offsets
  }

  async audit(partitions: readonly TopicPartition[]): Promise<ReadonlyMap<string, PartitionAudit>> {
    const out = new Map<string, PartitionAudit>()
    if (partitions.length === 0) return out
    const keys = partitions.flatMap((p) => {
      const key = this.keys.offset(this.name, p.topic, p.partition)
      return [key, `${key}:applied`]
    })
    const values = await this.#call(() => this.#redis.mget(...keys))
    partitions.forEach((p, i) => {
      const offset = values[2 * i]
      out.set(partitionKey(p.topic, p.partition), {
        offset: offset === null || offset === undefined ? undefined : Number(offset),
        applied: Number(values[2 * i + 1] ?? 0),
      })
    })
    return out
  }

  async apply(batch: readonly PartitionBatch<RedisWrite>[]): Promise<void> {
    if (batch.length === 0) return
    if (this.#reconnected) throw new RedisReconnectedError()
    const args = this.scriptArguments(batch, Date.now())
    const json = JSON.stringify(args)
    await this.#call(() => this.#redis.agentPartyApplyBatch(json))
  }

  /** The apply script's array of arguments for a batch (apply-script.ts); public for the benchmark. */
  scriptArguments(batch: readonly PartitionBatch<RedisWrite>[], now: number): string[] {
    const args: string[] = [this.#mode, String(now)]
    for (const part of batch) {
      const offsets = this.#mode === 'n' ? '' : part.records.map((r) => r.offset).join(',')
      args.push(this.keys.offset(this.name, part.topic, part.partition), String(part.lastOffset), offsets, '')
      const countAt = args.length - 1
      let count = 0
      for (const record of latestPerKey(part.records)) {
        const offset = String(record.offset)
        for (const op of record.value === null ? this.#tombstone(part.topic, record.key) : record.value.ops) {
          args.push(offset)
          for (const a of op) args.push(a)
          count++
        }
      }
      args[countAt] = String(count)
    }
    return args
  }

  classify(error: unknown): FailureKind {
    return classifyRedisError(error)
  }

  /** Deletes every key under the prefix except the offsets other sinks keep there. */
  async reset(): Promise<void> {
    const otherOffsets = `${this.keys.prefix}sink-offset:`
    const mine = `${otherOffsets}${this.name}:`
    let cursor = '0'
    do {
      const [next, found] = await this.#redis.scan(cursor, 'MATCH', this.keys.all(), 'COUNT', 1000)
      cursor = next
      const doomed = found.filter((k) => !k.startsWith(otherOffsets) || k.startsWith(mine))
      if (doomed.length > 0) await this.#redis.unlink(...doomed)
    } while (cursor !== '0')
  }

  /** Sets these partitions' offset keys and zeroes their applied counts, in one MULTI/EXEC (a reset's). */
  async storeOffsets(offsets: readonly PartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return
    const keys = offsets.map((p) => this.keys.offset(this.name, p.topic, p.partition))
    const results = await this.#call(() =>
      this.#redis
        .multi()
        .mset(...offsets.flatMap((p, i) => [keys[i] as string, String(p.offset)]))
        .del(...keys.map((k) => `${k}:applied`))
        .exec(),
    )
    const failed = results?.find(([error]) => error !== null)?.[0]
    if (results === null || failed) throw failed ?? new Error('storeOffsets: transaction discarded')
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.#redis.ping()) === 'PONG'
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    if (this.#redis.status === 'end' || this.#redis.status === 'wait') return
    try {
      await this.#redis.quit()
    } catch {
      this.#redis.disconnect()
    }
  }

  /**
   * Runs a command; when it fails for want of a connection and the connection itself failed for a
   * fatal reason (credentials refused at reconnect), throws that reason so that classify sees it.
   */
  async #call<R>(command: () => Promise<R>): Promise<R> {
    try {
      return await command()
    } catch (error) {
      const cause = this.#connectionError
      if (cause !== undefined && cause !== error && classifyRedisError(cause) === 'fatal') throw cause
      throw error
    }
  }

  #tombstone(topic: string, key: Buffer | null): readonly Op[] {
    const entry = this.#outputByTopic.get(topic)
    if (entry === undefined) throw new RedisSinkDataError(`topic ${topic} is not one of the Redis sink's`)
    try {
      return this.#compiler.tombstone(entry.output, key)
    } catch (error) {
      throw new RedisSinkDataError((error as Error).message, { cause: error })
    }
  }
}

/**
 * The records of one partition without those a later record of the same key replaces (every write
 * of a key is "latest wins"). Offsets grow within a partition, so the last record of a key is above
 * the stored offset whenever any of its key is: dropping the earlier ones never loses a write.
 */
function latestPerKey<T>(
  records: readonly { offset: number; key: Buffer | null; value: T | null }[],
): { offset: number; key: Buffer | null; value: T | null }[] {
  const seen = new Set<string>()
  const kept: { offset: number; key: Buffer | null; value: T | null }[] = []
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i] as (typeof records)[number]
    if (r.key !== null) {
      const k = r.key.toString('latin1')
      if (seen.has(k)) continue
      seen.add(k)
    }
    kept.push(r)
  }
  return kept.reverse()
}

function positive(option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw optionError(option, value, 'a positive whole number')
  return value
}

function optionError(option: string, value: unknown, expected: string): Error {
  return new Error(
    `RedisSinkTarget option ${option}: ${JSON.stringify(value)} is invalid; expected ${expected}`,
  )
}
