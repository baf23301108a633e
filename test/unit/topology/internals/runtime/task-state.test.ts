// The task lifecycle: the allowed path and every illegal transition.
import { describe, expect, it } from 'vitest'
import { TaskLifecycle, type TaskState } from '../../../../../topology/internals/runtime/task-state.js'

const ALL: TaskState[] = ['CREATED', 'RESTORING', 'RUNNING', 'SUSPENDED', 'CLOSED']
const LEGAL = new Set([
  'CREATED>RESTORING',
  'CREATED>SUSPENDED',
  'CREATED>CLOSED',
  'RESTORING>RUNNING',
  'RESTORING>SUSPENDED',
  'RUNNING>SUSPENDED',
  'SUSPENDED>RESTORING',
  'SUSPENDED>CLOSED',
])

function reach(state: TaskState): TaskLifecycle {
  const path: Record<TaskState, TaskState[]> = {
    CREATED: [],
    RESTORING: ['RESTORING'],
    RUNNING: ['RESTORING', 'RUNNING'],
    SUSPENDED: ['SUSPENDED'],
    CLOSED: ['CLOSED'],
  }
  const life = new TaskLifecycle('0_0')
  for (const s of path[state]) life.transitionTo(s)
  return life
}

describe('TaskLifecycle', () => {
  it('follows CREATED -> RESTORING -> RUNNING -> SUSPENDED -> RESTORING -> RUNNING, then closes', () => {
    const life = new TaskLifecycle('0_0')
    for (const s of [
      'RESTORING',
      'RUNNING',
      'SUSPENDED',
      'RESTORING',
      'RUNNING',
      'SUSPENDED',
      'CLOSED',
    ] as const)
      life.transitionTo(s)
    expect(life.state).toBe('CLOSED')
  })

  for (const from of ALL) {
    for (const to of ALL) {
      const legal = LEGAL.has(`${from}>${to}`)
      it(`${from} -> ${to} is ${legal ? 'allowed' : 'refused'}`, () => {
        const life = reach(from)
        if (legal) {
          life.transitionTo(to)
          expect(life.state).toBe(to)
        } else {
          expect(() => life.transitionTo(to)).toThrow(
            expect.objectContaining({ code: 'ILLEGAL_STATE_TRANSITION' }),
          )
          expect(life.state).toBe(from)
        }
      })
    }
  }
})
