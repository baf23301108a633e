// The API process's consumer lag exporter: polls the lag of the configured groups (and of every group
// whose id starts with a configured prefix) and publishes it on a Prometheus registry under the operations
// guide's names, `kafka_consumergroup_lag` (messages) and `kafka_consumergroup_lag_seconds` (time, from a
// per-partition lookup table of sampled end offsets, as kafka-lag-exporter estimates it). These names
// belong to this exporter alone (config/metrics.ts never defines them), so one process exports them once.
// A failed poll (broker down) is logged and counted, the last values stay, and polling goes on.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Config } from '../../config/config.js'
import type { Logger } from '../../config/logger.js'
import { GroupLagReader, type GroupLagReadout, type PartitionLag } from '../../kafka/group-lag.js'
import { partitionKey } from '../../kafka/partition-fetcher.js'
import { DEFAULT_MAX_SAMPLES, LookupTable } from './lookup-table.js'

export interface LagEntry extends PartitionLag {
  /** Seconds since the end offset stood at the committed offset (lookup-table.ts); 0 when lag is 0. */
  readonly lagSeconds: number
}

/** Where the exporter reads lag from: the broker (GroupLagReader) unless a test gives another. */
export interface LagSource {
  groupsWithPrefix(prefixes: readonly string[]): Promise<string[]>
  read(groups: readonly string[]): Promise<GroupLagReadout>
  close(): Promise<void>
}

export interface LagExporterOptions {
  readonly kafka: Config['kafka']
  readonly registry: Registry
  /** Groups always exported (a group that does not exist yet has no series until it commits). */
  readonly groups: readonly string[]
  /** Also export every group the broker lists whose id starts with one of these. */
  readonly groupPrefixes?: readonly string[]
  /** Default 5000. */
  readonly pollIntervalMs?: number
  /** Samples kept per partition for the time lag. Default DEFAULT_MAX_SAMPLES (360). */
  readonly maxSamples?: number
  /** The wall clock, epoch milliseconds. Default Date.now. */
  readonly now?: () => number
  readonly logger?: Logger
  /** Replaces the broker reader (unit tests). */
  readonly source?: LagSource
}

export const LAG_METRIC = 'kafka_consumergroup_lag'
export const LAG_SECONDS_METRIC = 'kafka_consumergroup_lag_seconds'
export const POLL_FAILURES_METRIC = 'kafka_lag_exporter_poll_failures_total'

const DEFAULT_POLL_INTERVAL_MS = 5000
type Labels = 'consumergroup' | 'topic' | 'partition'

export class LagExporter {
  readonly #groups: readonly string[]
  readonly #prefixes: readonly string[]
  readonly #pollIntervalMs: number
  readonly #maxSamples: number
  readonly #now: () => number
  readonly #logger: Logger | undefined
  readonly #source: LagSource
  readonly #lag: Gauge<Labels>
  readonly #lagSeconds: Gauge<Labels>
  readonly #failures: Counter
  #series = new Map<string, LagEntry>()
  #tables = new Map<string, LookupTable>()
  #polling: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  #started = false
  #closed = false

  constructor(options: LagExporterOptions) {
    const { registry } = options
    const interval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS
    if (!Number.isInteger(interval) || interval <= 0)
      throw new RangeError(`pollIntervalMs must be a positive integer of milliseconds, got ${interval}`)
    for (const [option, ids] of [
      ['groups', options.groups],
      ['groupPrefixes', options.groupPrefixes ?? []],
    ] as const) {
      if (ids.some((id) => typeof id !== 'string' || id === ''))
        throw new TypeError(`${option} must hold non-empty strings, got ${JSON.stringify(ids)}`)
    }
    this.#maxSamples = options.maxSamples ?? DEFAULT_MAX_SAMPLES
    new LookupTable(this.#maxSamples) // validates maxSamples now rather than at the first poll
    for (const name of [LAG_METRIC, LAG_SECONDS_METRIC, POLL_FAILURES_METRIC]) {
      if (registry.getSingleMetric(name) !== undefined)
        throw new Error(`${name} is already registered on this registry: one LagExporter per registry`)
    }
    this.#groups = [...options.groups]
    this.#prefixes = [...(options.groupPrefixes ?? [])]
    this.#pollIntervalMs = interval
    this.#now = options.now ?? Date.now
    this.#logger = options.logger
    this.#source = options.source ?? new GroupLagReader(options.kafka, { clientIdSuffix: 'lag-exporter' })
    const labelNames = ['consumergroup', 'topic', 'partition'] as const
    this.#lag = new Gauge({
      name: LAG_METRIC,
      help: 'Records a consumer group has yet to read per partition: last stable offset minus committed offset (0 when only transaction markers remain).',
      labelNames,
      registers: [registry],
    })
    this.#lagSeconds = new Gauge({
      name: LAG_SECONDS_METRIC,
      help: 'Seconds since the end of the partition stood at the group committed offset, interpolated on sampled end offsets.',
      labelNames,
      registers: [registry],
    })
    this.#failures = new Counter({
      name: POLL_FAILURES_METRIC,
      help: 'Lag polls that failed (in whole, or for some groups); their last values stay exported.',
      registers: [registry],
    })
  }

  /** Polls now, then every pollIntervalMs after the previous poll ended. Idempotent. */
  start(): void {
    if (this.#closed) throw new Error('LagExporter is closed')
    if (this.#started) return
    this.#started = true
    const tick = (): void => {
      void this.poll().then(() => {
        if (this.#closed) return
        this.#timer = setTimeout(tick, this.#pollIntervalMs)
        this.#timer.unref()
      })
    }
    tick()
  }

  /** One poll, sampled at now(); after any poll already running. Never rejects: failures are counted. */
  poll(): Promise<void> {
    if (this.#closed) return this.#polling
    this.#polling = this.#polling.then(() => this.#pollOnce())
    return this.#polling
  }

  /** The exported entries, by group, topic and partition. */
  snapshot(): LagEntry[] {
    return [...this.#series.values()].sort(
      (a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition,
    )
  }

  /** Stops polling, waits for a poll in flight and closes the clients. The series stay on the registry. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    await this.#polling
    await this.#source.close()
  }

  async #pollOnce(): Promise<void> {
    try {
      const now = this.#now()
      const byPrefix = await this.#source.groupsWithPrefix(this.#prefixes)
      const readout = await this.#source.read([...new Set([...this.#groups, ...byPrefix])])
      if (readout.failed.size > 0) {
        this.#failures.inc()
        const [first] = readout.failed.values()
        this.#logger?.warn(
          { err: first, groups: [...readout.failed.keys()] },
          'consumer lag: offsets of some groups could not be read; their last values stay',
        )
      }
      this.#publish(readout, now)
    } catch (error) {
      this.#failures.inc()
      this.#logger?.warn({ err: error }, 'consumer lag poll failed; the last values stay')
    }
  }

  #publish(readout: GroupLagReadout, now: number): void {
    for (const [key, end] of readout.ends) {
      const table = this.#tables.get(key) ?? new LookupTable(this.#maxSamples)
      this.#tables.set(key, table)
      table.add(end, now)
    }
    const next = new Map<string, LagEntry>()
    for (const lag of readout.lags) {
      const table = this.#tables.get(partitionKey(lag.topic, lag.partition))
      const lagSeconds = lag.lag === 0 || table === undefined ? 0 : table.lagSeconds(lag.committed, now)
      next.set(seriesKey(lag), { ...lag, lagSeconds })
    }
    // A group that could not be read keeps what it had; everything else not read again is gone.
    for (const [key, entry] of this.#series) {
      if (!next.has(key) && readout.failed.has(entry.group)) next.set(key, entry)
    }
    for (const [key, entry] of this.#series) {
      if (next.has(key)) continue
      this.#lag.remove(labels(entry))
      this.#lagSeconds.remove(labels(entry))
    }
    for (const entry of next.values()) {
      this.#lag.set(labels(entry), entry.lag)
      this.#lagSeconds.set(labels(entry), entry.lagSeconds)
    }
    this.#series = next
    const used = new Set([...next.values()].map((e) => partitionKey(e.topic, e.partition)))
    for (const key of this.#tables.keys()) if (!used.has(key)) this.#tables.delete(key)
  }
}

function seriesKey(entry: { group: string; topic: string; partition: number }): string {
  return `${entry.group}\u0000${partitionKey(entry.topic, entry.partition)}`
}

function labels(entry: LagEntry): Record<Labels, string> {
  return { consumergroup: entry.group, topic: entry.topic, partition: String(entry.partition) }
}
