// A task's lifecycle as an explicit state machine (Kafka Streams' Task.State): an illegal transition
// throws instead of leaving a task half-way.
import { TopologyError } from '../../errors.js'

export type TaskState = 'CREATED' | 'RESTORING' | 'RUNNING' | 'SUSPENDED' | 'CLOSED'

const ALLOWED: Readonly<Record<TaskState, readonly TaskState[]>> = {
  CREATED: ['RESTORING', 'SUSPENDED', 'CLOSED'],
  RESTORING: ['RUNNING', 'SUSPENDED'],
  RUNNING: ['SUSPENDED'],
  SUSPENDED: ['RESTORING', 'CLOSED'],
  CLOSED: [],
}

export class TaskLifecycle {
  #state: TaskState = 'CREATED'

  constructor(private readonly taskId: string) {}

  get state(): TaskState {
    return this.#state
  }

  canTransitionTo(next: TaskState): boolean {
    return ALLOWED[this.#state].includes(next)
  }

  transitionTo(next: TaskState): void {
    if (!this.canTransitionTo(next)) {
      throw new TopologyError(
        'ILLEGAL_STATE_TRANSITION',
        `task ${this.taskId} cannot go from ${this.#state} to ${next} (allowed: ${ALLOWED[this.#state].join(', ') || 'none'})`,
        { taskId: this.taskId },
      )
    }
    this.#state = next
  }

  require(states: readonly TaskState[], action: string): void {
    if (!states.includes(this.#state)) {
      throw new TopologyError(
        'ILLEGAL_STATE_TRANSITION',
        `task ${this.taskId} cannot ${action} in state ${this.#state} (needs ${states.join(' or ')})`,
        { taskId: this.taskId },
      )
    }
  }
}
