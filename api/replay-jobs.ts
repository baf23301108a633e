// Replays started through the API (POST /admin/replay): a replay runs for minutes (the processor and
// the sinks rebuild everything in this process), longer than an HTTP request should wait, so it runs
// as a job: the POST answers 202 with the job once the replay is under way (a refusal, such as live
// members in the pipeline's groups, is the POST's own 409), and GET /admin/replay/:id shows its
// progress and then its outcome. One replay at a time per API process; the last few jobs are kept.
import { randomUUID } from 'node:crypto'
import type { ReplayProgress, ReplayResult } from '../ops/replay.js'
import { differs } from '../ops/replay-digest.js'

export interface ReplayRequest {
  /** `kafka` (the input topics from their earliest offsets) or `archive` (re-published first). */
  readonly from: 'kafka' | 'archive'
  readonly sinks?: readonly ('neo4j' | 'redis')[]
}

/** Runs one replay, reporting progress; what ops/replay.ts's replayPipeline/replayFromArchive do. */
export type ReplayRunner = (
  request: ReplayRequest,
  onProgress: (progress: ReplayProgress) => void,
) => Promise<ReplayResult>

export interface ReplayOutcome {
  readonly events: number
  readonly outputRecords: number
  readonly eventsPerSecond: number
  readonly phasesMs: Readonly<Record<string, number>>
  /** Null when the replay did not compare (never through the API: it always does). */
  readonly deterministicEqual: boolean | null
  /** The deterministic tables that differ, with counts. */
  readonly differing: readonly { table: string; changed: number; missing: number; added: number }[]
  /** The timing-dependent tables that differ (reported, not part of the verdict). */
  readonly timingDependentDiffering: readonly string[]
}

export interface ReplayJobView {
  readonly id: string
  readonly state: 'running' | 'done' | 'failed'
  readonly request: ReplayRequest
  readonly startedAt: string
  readonly finishedAt: string | null
  /** The latest progress report (phase, done/total, rate, ETA); null before the first. */
  readonly progress: ReplayProgress | null
  readonly outcome: ReplayOutcome | null
  readonly error: string | null
}

export class ReplayAlreadyRunningError extends Error {
  readonly code = 'REPLAY_RUNNING'
  constructor(readonly jobId: string) {
    super(`replay ${jobId} is still running: one replay at a time (GET /admin/replay/${jobId})`)
    this.name = 'ReplayAlreadyRunningError'
  }
}

interface Job {
  id: string
  state: ReplayJobView['state']
  request: ReplayRequest
  startedAt: Date
  finishedAt: Date | null
  progress: ReplayProgress | null
  outcome: ReplayOutcome | null
  error: string | null
}

const KEPT_JOBS = 10

export class ReplayJobs {
  readonly #jobs = new Map<string, Job>()
  readonly #run: ReplayRunner
  readonly #onFinished: ((job: ReplayJobView) => void) | undefined

  constructor(run: ReplayRunner, onFinished?: (job: ReplayJobView) => void) {
    this.#run = run
    this.#onFinished = onFinished
  }

  /**
   * Starts a replay. Resolves with the running job once the replay reported its first progress (it
   * passed the checks that refuse it: live members, a replay already running); rejects with the
   * replay's own error when it fails before that, so that a refusal is the caller's answer.
   */
  start(request: ReplayRequest): Promise<ReplayJobView> {
    const running = [...this.#jobs.values()].find((j) => j.state === 'running')
    if (running !== undefined) return Promise.reject(new ReplayAlreadyRunningError(running.id))
    const job: Job = {
      id: randomUUID(),
      state: 'running',
      request,
      startedAt: new Date(),
      finishedAt: null,
      progress: null,
      outcome: null,
      error: null,
    }
    this.#jobs.set(job.id, job)
    this.#forgetOld()
    return new Promise<ReplayJobView>((resolve, reject) => {
      let started = false
      const onProgress = (progress: ReplayProgress) => {
        job.progress = progress
        if (!started) {
          started = true
          resolve(view(job))
        }
      }
      this.#run(request, onProgress).then(
        (result) => {
          job.state = 'done'
          job.outcome = outcomeOf(result)
          job.finishedAt = new Date()
          this.#onFinished?.(view(job))
          if (!started) resolve(view(job))
        },
        (error: unknown) => {
          job.finishedAt = new Date()
          if (!started) {
            // Refused or failed before it began: not a job anyone will look for.
            this.#jobs.delete(job.id)
            reject(error)
            return
          }
          job.state = 'failed'
          job.error = error instanceof Error ? error.message : String(error)
          this.#onFinished?.(view(job))
        },
      )
    })
  }

  get(id: string): ReplayJobView | undefined {
    const job = this.#jobs.get(id)
    return job === undefined ? undefined : view(job)
  }

  #forgetOld(): void {
    const finished = [...this.#jobs.values()].filter((j) => j.state !== 'running')
    for (const job of finished.slice(0, Math.max(0, this.#jobs.size - KEPT_JOBS))) this.#jobs.delete(job.id)
  }
}

function view(job: Job): ReplayJobView {
  return {
    id: job.id,
    state: job.state,
    request: job.request,
    startedAt: job.startedAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
    progress: job.progress,
    outcome: job.outcome,
    error: job.error,
  }
}

function outcomeOf(result: ReplayResult): ReplayOutcome {
  return {
    events: result.events,
    outputRecords: result.outputRecords,
    eventsPerSecond: result.eventsPerSecond,
    phasesMs: { ...result.phases },
    deterministicEqual: result.comparison?.deterministicEqual ?? null,
    differing: (result.comparison?.deterministic ?? [])
      .filter(differs)
      .map((t) => ({ table: t.table, changed: t.changed, missing: t.missing, added: t.added })),
    timingDependentDiffering: (result.comparison?.timingDependent ?? []).filter(differs).map((t) => t.table),
  }
}

const count = { type: 'integer', minimum: 0 } as const

/** The JSON Schema of a ReplayJobView (the API's `ReplayJob`). */
export const replayJobSchema = {
  $id: 'ReplayJob',
  type: 'object',
  description: 'A replay started through the API: running, then done (with its outcome) or failed',
  properties: {
    id: { type: 'string', format: 'uuid' },
    state: { type: 'string', enum: ['running', 'done', 'failed'] },
    request: {
      type: 'object',
      properties: {
        from: { type: 'string', enum: ['kafka', 'archive'] },
        sinks: { type: 'array', items: { type: 'string', enum: ['neo4j', 'redis'] } },
      },
      required: ['from'],
    },
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: ['string', 'null'], format: 'date-time' },
    progress: {
      type: ['object', 'null'],
      description: 'The latest progress report of the phase under way',
      properties: {
        phase: {
          type: 'string',
          enum: ['republish', 'snapshot-before', 'reset', 'processor', 'sinks', 'snapshot-after'],
        },
        done: count,
        total: count,
        unit: { type: 'string', enum: ['events', 'records'] },
        elapsedMs: { type: 'number', minimum: 0 },
        perSecond: { type: 'number', minimum: 0 },
        etaMs: { type: ['number', 'null'], minimum: 0 },
      },
      required: ['phase', 'done', 'total', 'unit', 'elapsedMs', 'perSecond', 'etaMs'],
    },
    outcome: {
      type: ['object', 'null'],
      properties: {
        events: count,
        outputRecords: count,
        eventsPerSecond: { type: 'number', minimum: 0 },
        phasesMs: { type: 'object', additionalProperties: { type: 'number', minimum: 0 } },
        deterministicEqual: {
          type: ['boolean', 'null'],
          description: 'The verdict: every deterministic table equal after the rebuild',
        },
        differing: {
          type: 'array',
          items: {
            type: 'object',
            properties: { table: { type: 'string' }, changed: count, missing: count, added: count },
            required: ['table', 'changed', 'missing', 'added'],
          },
        },
        timingDependentDiffering: { type: 'array', items: { type: 'string' } },
      },
      required: [
        'events',
        'outputRecords',
        'eventsPerSecond',
        'phasesMs',
        'deterministicEqual',
        'differing',
        'timingDependentDiffering',
      ],
    },
    error: { type: ['string', 'null'] },
  },
  required: ['id', 'state', 'request', 'startedAt', 'finishedAt', 'progress', 'outcome', 'error'],
} as const
