// Alert: a task assigned to a team but not started within a time limit. Read from the task table's
// snapshots (keyed by task id), whose status only moves forward, so a TaskStarted or an outcome that
// arrives before its TaskAssigned still counts: a task is pending while its snapshot says ASSIGNED.
// Pending tasks are kept in a store keyed by task id (logged, so a moved task still knows them), cleared
// when the task starts or ends; a stream-time punctuator alerts on each one whose assignment
// (occurred_at of TaskAssigned) is at least the limit older than the task's stream time. One alert per
// assignment: an alerted task stays in the store, marked, until it starts or ends, so a later snapshot
// of the same assignment does not alert again; a reassignment (another assigned_at) is a new cause,
// with its own alert id, and alerts again if that one is not started in time either. Beside the store, the un-alerted tasks and their assignment times are indexed in
// memory (rebuilt from the store at start) so a punctuation looks at pending tasks only.
import {
  type KeyValueStore,
  type KStream,
  type Processor,
  type ProcessorContext,
  Serdes,
  Stores,
  StreamRecord,
  type StreamsBuilder,
} from '../../topology/index.js'
import type { TaskSnapshot } from '../entities/tasks.js'
import { type Alert, type AlertsOptions, alertId, resolveAlertsOptions, SEVERITY } from './alert.js'

export interface PendingTask {
  assigned_at: number
  team_id: string | null
  alerted: boolean
}

// Started or ended: what clears a pending task.
const DONE = new Set(['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'])

export const PENDING_TASKS_STORE = 'alert-pending-tasks'

class TaskNotStartedProcessor implements Processor<string, TaskSnapshot | null, string, Alert> {
  #context!: ProcessorContext<string, Alert>
  #pending!: KeyValueStore<string, PendingTask>
  /** Un-alerted pending tasks -> assigned_at. */
  readonly #due = new Map<string, number>()

  constructor(
    private readonly timeoutMs: number,
    private readonly intervalMs: number,
  ) {}

  init(context: ProcessorContext<string, Alert>): void {
    this.#context = context
    this.#pending = context.getStateStore<KeyValueStore<string, PendingTask>>(PENDING_TASKS_STORE)
    for (const [id, task] of this.#pending.all()) if (!task.alerted) this.#due.set(id, task.assigned_at)
    context.schedule(this.intervalMs, 'stream-time', (now) => this.#check(now))
  }

  process(record: StreamRecord<string, TaskSnapshot | null>): void {
    const id = record.key
    const task = record.value
    if (task?.status === 'ASSIGNED' && task.assigned_at !== null) {
      const known = this.#pending.get(id)
      if (known?.alerted === true && known.assigned_at === task.assigned_at) return
      if (known?.assigned_at === task.assigned_at && known.team_id === task.team_id) return
      this.#pending.put(id, { assigned_at: task.assigned_at, team_id: task.team_id, alerted: false })
      this.#due.set(id, task.assigned_at)
    } else if (task === null || DONE.has(task.status)) {
      if (this.#pending.get(id) !== undefined) this.#pending.delete(id)
      this.#due.delete(id)
    }
  }

  #check(now: number): void {
    for (const [id, assignedAt] of this.#due) {
      if (assignedAt + this.timeoutMs > now) continue
      const task = this.#pending.get(id) as PendingTask
      this.#pending.put(id, { ...task, alerted: true })
      this.#due.delete(id)
      const waited = now - assignedAt
      const alert: Alert = {
        alert_id: alertId('TASK_NOT_STARTED', id, assignedAt),
        type: 'TASK_NOT_STARTED',
        severity: SEVERITY.TASK_NOT_STARTED,
        subject_type: 'TASK',
        subject: id,
        observed: waited,
        threshold: this.timeoutMs,
        window_start: null,
        window_end: null,
        event_time: now,
        message: `task ${id} assigned to team ${task.team_id ?? '(unknown)'} at ${new Date(assignedAt).toISOString()} not started after ${waited} ms (limit ${this.timeoutMs} ms)`,
        details: {
          assigned_at: String(assignedAt),
          ...(task.team_id === null ? {} : { team_id: task.team_id }),
        },
      }
      this.#context.forward(new StreamRecord(id, alert, now))
    }
  }
}

/**
 * Alerts, keyed by alert id, of tasks assigned but not started in time. Adds the store
 * `alert-pending-tasks` (changelog `<applicationId>-alert-pending-tasks-changelog`); `taskSnapshots`
 * is the task table's stream, keyed by task id, not re-keyed (the store is per task).
 */
export function taskNotStartedAlerts(
  builder: StreamsBuilder,
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  options: Pick<AlertsOptions, 'taskStartTimeoutMs' | 'checkIntervalMs'> = {},
): KStream<string, Alert> {
  const { taskStartTimeoutMs: timeoutMs, checkIntervalMs: intervalMs } = resolveAlertsOptions(options)
  builder.addStateStore(
    Stores.keyValueStoreBuilder(
      PENDING_TASKS_STORE,
      Serdes.String(),
      Serdes.Json<PendingTask>(),
    ).withCachingEnabled(),
  )
  return taskSnapshots
    .processValues(
      () => new TaskNotStartedProcessor(timeoutMs, intervalMs),
      { name: 'alert-task-not-started' },
      PENDING_TASKS_STORE,
    )
    .selectKey((_id, alert) => alert.alert_id, { name: 'alert-task-not-started-key' })
}
