// Event-time alignment across the instances of one application (StreamsConfig.eventTimeAlignment).
//
// Within one instance the tasks take turns by earliest record, so what they write to a repartition
// topic stays close together in event time. Across instances nothing did: replaying a backlog, an
// instance with lighter partitions ran minutes of event time ahead of another, the repartition topics
// both write mixed the two, and the windows behind them closed before the slower one's records came
// (P8 with two instances: 115k records late for tokens per template). Kafka Streams has the same gap;
// Flink closes it with watermark alignment, and so does this.
//
// Each instance publishes, whenever its state changes and at most every intervalMs, its *low*: the
// earliest event time on the input partitions it owns whose results are not visible downstream yet.
// That is what it has yet to process (the head of each partition's buffer, or for a partition with
// unread records and nothing buffered the last time it processed there), and what it processed since
// its last completed commit: under read_committed its results reach the readers of a repartition topic
// only with the commit, after whatever another instance committed meanwhile. A partition caught up
// with its log end for a while sets no bound; one not read yet since its task started (or a task still
// restoring) makes the low unknown. Reports go to a topic of their own
// (`<applicationId>-event-time`, one partition, plain records, minutes of retention) that every
// instance reads along with its input. An instance processes no record later than the group's low plus
// maxDriftMs, and holds it until the others move on.
//
// Reports count for the group generation they were made in, and only once reports of that generation
// cover every input partition: a member that has not reported yet would otherwise count as caught up,
// and an instance would run ahead in the moments after a rebalance. A member that never reports (one
// started without alignment) holds the others for coverageTimeoutMs, then is left out with a warning.
import type { Logger } from 'pino'

/** What one instance reports. */
export interface AlignmentReport {
  readonly instanceId: string
  /** The group generation it holds its tasks in. */
  readonly generation: number
  /** How many input partitions (of the user's topics) its tasks read. */
  readonly partitions: number
  /**
   * The earliest event time whose results it has not made visible yet; null when caught up (idle);
   * 'unknown' before its first read or while it restores.
   */
  readonly low: number | null | 'unknown'
  /** Wall-clock time of the report. */
  readonly at: number
}

export interface EventTimeAlignmentOptions {
  readonly instanceId: string
  readonly maxDriftMs: number
  /** The shortest time between two reports while the low moves (a change of class is reported at once). */
  readonly intervalMs: number
  /** Input partitions of the whole application: reports must cover them all. */
  readonly totalPartitions: number
  /** How long a generation waits for reports covering every partition before going on without. */
  readonly coverageTimeoutMs: number
  readonly logger?: Logger | undefined
}

/** How often an instance reports when nothing changed. */
const HEARTBEAT_MS = 1000

/** The topic the instances of an application report to. */
export function eventTimeTopicName(applicationId: string): string {
  return `${applicationId}-event-time`
}

/** A report older than its generation's start by more than this is a previous run's (the same generation number). */
const EARLIER_RUN_MS = 60_000

export function encodeReport(report: AlignmentReport): Buffer {
  return Buffer.from(JSON.stringify(report))
}

/** The report in a record's value, or undefined when it is not one (a stray record is ignored). */
export function decodeReport(value: Buffer | null): AlignmentReport | undefined {
  if (value === null) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(value.toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const r = parsed as Record<string, unknown>
  const low = r.low
  const valid =
    typeof r.instanceId === 'string' &&
    Number.isInteger(r.generation) &&
    Number.isInteger(r.partitions) &&
    (r.partitions as number) >= 0 &&
    Number.isFinite(r.at) &&
    (low === null || low === 'unknown' || Number.isFinite(low))
  return valid ? (parsed as AlignmentReport) : undefined
}

/** A low as a number: -Infinity when unknown (holds everyone), +Infinity when caught up (holds no one). */
function lowValue(low: AlignmentReport['low']): number {
  if (low === 'unknown') return Number.NEGATIVE_INFINITY
  return low ?? Number.POSITIVE_INFINITY
}

function reportedLow(low: number): AlignmentReport['low'] {
  if (low === Number.NEGATIVE_INFINITY) return 'unknown'
  return low === Number.POSITIVE_INFINITY ? null : low
}

export class EventTimeAlignment {
  readonly #options: EventTimeAlignmentOptions
  readonly #others = new Map<string, AlignmentReport>()
  #generation = -1
  #generationSince = 0
  #partitions = 0
  /** The earliest event time this instance has yet to process: what bounds it. */
  #low = Number.NEGATIVE_INFINITY
  /** The same, or earlier: also what it processed but has not made visible yet (what it reports). */
  #visibleLow = Number.NEGATIVE_INFINITY
  #lastReport = Number.NEGATIVE_INFINITY
  #lastClass = ''
  #lastLow: AlignmentReport['low'] = 'unknown'
  #warnedGeneration = -1

  constructor(options: EventTimeAlignmentOptions) {
    this.#options = options
  }

  /** A report read from the topic (this instance's own are skipped: its live state is newer). */
  observe(report: AlignmentReport): void {
    if (report.instanceId === this.#options.instanceId) return
    const known = this.#others.get(report.instanceId)
    if (known === undefined || known.at <= report.at) this.#others.set(report.instanceId, report)
  }

  /**
   * This instance's state now: its generation, the input partitions its tasks read, the earliest event
   * time it has yet to process (`low`), and the earliest whose results are not visible downstream yet
   * (`visibleLow`, at most `low`: records processed since the last completed commit count too). The
   * others are bound by the second: what this instance's next commit makes visible must not come after
   * their later records.
   */
  update(generation: number, partitions: number, low: number, visibleLow: number, now: number): void {
    if (generation !== this.#generation) {
      this.#generation = generation
      this.#generationSince = now
    }
    this.#partitions = partitions
    this.#low = low
    this.#visibleLow = Math.min(low, visibleLow)
  }

  /**
   * The latest event time this instance may process now: the group's low plus maxDriftMs; +Infinity
   * when every instance is caught up; -Infinity while the reports of this generation do not yet cover
   * every input partition, or some partition was not read yet.
   */
  bound(now: number): number {
    let low = this.#low
    let covered = this.#partitions
    for (const report of this.#others.values()) {
      if (report.generation !== this.#generation) continue
      if (report.at < this.#generationSince - EARLIER_RUN_MS) continue
      covered += report.partitions
      low = Math.min(low, lowValue(report.low))
    }
    if (covered < this.#options.totalPartitions) {
      if (now - this.#generationSince < this.#options.coverageTimeoutMs) return Number.NEGATIVE_INFINITY
      if (this.#warnedGeneration !== this.#generation) {
        this.#warnedGeneration = this.#generation
        this.#options.logger?.warn(
          { generation: this.#generation, covered, partitions: this.#options.totalPartitions },
          'event-time alignment: no report covers some input partitions (an instance without ' +
            'eventTimeAlignment in the group?); going on without them',
        )
      }
    }
    return low + this.#options.maxDriftMs
  }

  /**
   * The report to publish now, if one is due: at once when the instance changes class (generation,
   * partitions, unknown, lagging, caught up); while lagging, each time its low moves, at most every
   * intervalMs; and every HEARTBEAT_MS in any case (a report lost on its way is replaced).
   */
  due(now: number): AlignmentReport | undefined {
    const low = reportedLow(this.#visibleLow)
    const kind = `${this.#generation}/${this.#partitions}/${typeof low === 'number' ? 'lagging' : String(low)}`
    const since = now - this.#lastReport
    const moved = typeof low === 'number' && low !== this.#lastLow && since >= this.#options.intervalMs
    if (kind === this.#lastClass && !moved && since < Math.max(HEARTBEAT_MS, this.#options.intervalMs)) {
      return undefined
    }
    this.#lastClass = kind
    this.#lastReport = now
    this.#lastLow = low
    return {
      instanceId: this.#options.instanceId,
      generation: this.#generation,
      partitions: this.#partitions,
      low,
      at: now,
    }
  }
}
