// The task table: each task's full current state, folded from task_events (keyed by task id, after
// duplicates are dropped), emitted as a whole snapshot (the last of each task per commit; every
// snapshot, in order, on `snapshots` for the metrics). Outcome events can arrive
// after events with a later event time (the platform reports them late), so the fold does not depend
// on arrival order: each event sets its own fields, and the status only moves forward (CREATED <
// ASSIGNED < RUNNING < an outcome); the first outcome seen is kept. Events of a task the table has
// not seen created, and a second outcome, are data-quality findings (data-quality.ts).

import type {
  TaskAssigned,
  TaskCancelled,
  TaskCompleted,
  TaskCreated,
  TaskEvent,
  TaskFailed,
  TaskPriority,
  TaskStarted,
} from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import type { KStream, KTable } from '../../topology/index.js'
import { type DataQualityIssue, type EntityStoreOptions, entityTable } from '../data-quality.js'

export type TaskState = 'UNKNOWN' | 'CREATED' | 'ASSIGNED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED'

const RANK: Record<TaskState, number> = {
  UNKNOWN: 0,
  CREATED: 1,
  ASSIGNED: 2,
  RUNNING: 3,
  COMPLETED: 4,
  FAILED: 4,
  CANCELLED: 4,
}

export interface TaskSnapshot {
  task_id: string
  status: TaskState
  priority: TaskPriority | null
  required_capabilities: string[]
  token_budget: number | null
  team_id: string | null
  agent_ids: string[]
  /** Tokens per agent, from the outcome event. */
  tokens_by_agent: Record<string, number>
  tokens_used: number
  created_at: number | null
  assigned_at: number | null
  started_at: number | null
  finished_at: number | null
  duration_ms: number | null
  error: string | null
  cancel_reason: string | null
  updated_at: number
  events: number
  /** True on the snapshot whose event set the outcome (the metrics count outcomes once, from these). */
  outcome_event: boolean
}

export function emptyTask(taskId: string): TaskSnapshot {
  return {
    task_id: taskId,
    status: 'UNKNOWN',
    priority: null,
    required_capabilities: [],
    token_budget: null,
    team_id: null,
    agent_ids: [],
    tokens_by_agent: {},
    tokens_used: 0,
    created_at: null,
    assigned_at: null,
    started_at: null,
    finished_at: null,
    duration_ms: null,
    error: null,
    cancel_reason: null,
    updated_at: 0,
    events: 0,
    outcome_event: false,
  }
}

function advance(task: TaskSnapshot, status: TaskState): TaskState {
  return RANK[status] > RANK[task.status] ? status : task.status
}

function withTokens(next: TaskSnapshot, tokens: Record<string, number>): void {
  next.tokens_by_agent = { ...tokens }
  next.tokens_used = Object.values(tokens).reduce((a, b) => a + b, 0)
}

export function applyTaskEvent(task: TaskSnapshot, event: TaskEvent): TaskSnapshot {
  const next: TaskSnapshot = {
    ...task,
    updated_at: Math.max(task.updated_at, event.occurred_at),
    events: task.events + 1,
    outcome_event: false,
  }
  const at = event.occurred_at
  switch (payloadName(event.payload)) {
    case 'TaskCreated': {
      const created = payloadOf<TaskCreated>(event.payload)
      next.priority = created.priority
      next.required_capabilities = [...created.required_capabilities]
      next.token_budget = created.token_budget
      next.created_at = at
      next.status = advance(task, 'CREATED')
      break
    }
    case 'TaskAssigned': {
      const assigned = payloadOf<TaskAssigned>(event.payload)
      next.team_id = assigned.team_id
      next.agent_ids = [...assigned.agent_ids]
      next.assigned_at = at
      next.status = advance(task, 'ASSIGNED')
      break
    }
    case 'TaskStarted':
      next.team_id = payloadOf<TaskStarted>(event.payload).team_id
      next.started_at = at
      next.status = advance(task, 'RUNNING')
      break
    case 'TaskCompleted': {
      if (RANK[task.status] === 4) break
      const completed = payloadOf<TaskCompleted>(event.payload)
      withTokens(next, completed.tokens_used)
      next.duration_ms = completed.duration_ms
      next.finished_at = at
      next.status = 'COMPLETED'
      next.outcome_event = true
      break
    }
    case 'TaskFailed': {
      if (RANK[task.status] === 4) break
      const failed = payloadOf<TaskFailed>(event.payload)
      withTokens(next, failed.tokens_used)
      next.error = failed.error
      next.finished_at = at
      next.status = 'FAILED'
      next.outcome_event = true
      break
    }
    case 'TaskCancelled':
      if (RANK[task.status] === 4) break
      next.cancel_reason = payloadOf<TaskCancelled>(event.payload).reason
      next.finished_at = at
      next.status = 'CANCELLED'
      next.outcome_event = true
      break
  }
  return next
}

/** The finding an event makes against the task's state before it (null when none). */
export function checkTaskEvent(task: TaskSnapshot, event: TaskEvent): DataQualityIssue | null {
  const type = payloadName(event.payload)
  if (type === 'TaskCreated') return null
  const issue = (reason: DataQualityIssue['reason'], detail: string): DataQualityIssue => ({
    reason,
    family: 'task_events',
    entity_type: 'task',
    entity_id: event.task_id,
    event_id: event.event_id,
    event_type: type,
    occurred_at: event.occurred_at,
    detail,
  })
  if (task.created_at === null) return issue('UNKNOWN_TASK', `${type} of a task not seen created`)
  const outcome = type === 'TaskCompleted' || type === 'TaskFailed' || type === 'TaskCancelled'
  if (outcome && RANK[task.status] === 4) {
    return issue('TASK_ALREADY_ENDED', `${type} of a task already ${task.status}`)
  }
  return null
}

export interface TaskEntities {
  /** The task table: full snapshots keyed by task id (cached: the last of each task per commit). */
  readonly table: KTable<string, TaskSnapshot>
  /**
   * The snapshot after each task event, none replaced: the outcome and token metrics count the one
   * whose event set the outcome, which a cache could replace by a later one. (Never null: typed as
   * the table's stream, which the metrics also accept.)
   */
  readonly snapshots: KStream<string, TaskSnapshot | null>
  /** The findings of the task events (data-quality.ts), keyed by task id. */
  readonly dataQuality: KStream<string, DataQualityIssue>
}

/**
 * The task table, every snapshot and the data-quality findings (entityTable). The store is `tasks`,
 * holding the snapshots with a record cache; its changelog is `serdes.output` when given, else
 * `<applicationId>-tasks-changelog`.
 */
export function taskEntities(
  events: KStream<string, TaskEvent>,
  serdes: EntityStoreOptions<TaskSnapshot>,
): TaskEntities {
  const { steps, table } = entityTable(events, 'tasks', serdes, (taskId, previous, event: TaskEvent) => {
    const task = previous ?? emptyTask(taskId)
    return { snapshot: applyTaskEvent(task, event), issue: checkTaskEvent(task, event) }
  })
  return {
    table,
    snapshots: steps.mapValues<TaskSnapshot | null>((f) => f.snapshot, { name: 'dq-tasks-steps' }),
    dataQuality: steps.flatMapValues((f) => (f.issue ? [f.issue] : []), { name: 'dq-tasks-findings' }),
  }
}
