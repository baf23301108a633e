// The state of the simulated platform (agents, tasks, teams, the clock, the follow-up queue) and the
// envelopes events are built in. The actions (agent-actions.ts, task-lifecycle.ts,
// component-reports.ts) change this state and return the event that says what changed.
import type { EventFamily } from '../event-families.js'
import type {
  AgentEventPayload,
  AgentStatus,
  EventsByFamily,
  SystemEventPayload,
  TaskEventPayload,
  TeamEventPayload,
  TeamMember,
} from '../generated/types.js'
import { MinHeap } from './min-heap.js'
import { Prng, type Seed } from './prng.js'

export type SimulatedEvent = {
  [F in EventFamily]: { family: F; key: string; event: EventsByFamily[F] }
}[EventFamily]

export interface SimulationOptions {
  baseTime: number
  /** Events per second of event time. */
  rate: number
  minAgents: number
  maxAgents: number
  /** Share of formation attempts the model fails on even with enough idle agents. */
  formationFailureShare: number
  /** Share of started tasks that fail; half as many again are cancelled. */
  taskFailureShare: number
}

export interface SimAgent {
  id: string
  name: string
  status: AgentStatus
  capabilities: Map<string, string>
  /** Set from formation until its release: the agent is not free for anything else meanwhile. */
  teamId: string | undefined
}

export interface SimTask {
  id: string
  required: string[]
  budget: number
  startedAt?: number
}

export interface SimTeam {
  id: string
  taskId: string
  members: TeamMember[]
}

/** A consequence to run at a later step; undefined when it no longer applies. */
export type FollowUp = () => SimulatedEvent | undefined

/** Payload names are the full Avro names of the union branches. */
export const NS = 'agent_party.events.'

export class SimulationWorld {
  readonly options: SimulationOptions
  readonly prng: Prng
  readonly followUps = new MinHeap<FollowUp>()
  readonly agents = new Map<string, SimAgent>()
  readonly tasks = new Map<string, SimTask>()
  readonly nameCounters = new Map<string, number>()
  step = 0

  constructor(seed: Seed, options: SimulationOptions) {
    this.options = options
    this.prng = Prng.derive(seed, 'platform')
  }

  /** Event time of the current step. */
  time(): number {
    return this.options.baseTime + Math.floor((this.step * 1000) / this.options.rate)
  }

  /** Schedules `followUp` between minSteps and maxSteps from now. */
  later(minSteps: number, maxSteps: number, followUp: FollowUp): void {
    this.followUps.push(this.step + this.prng.int(minSteps, maxSteps), followUp)
  }

  freeAgents(): SimAgent[] {
    return [...this.agents.values()].filter((a) => a.teamId === undefined)
  }

  agentEvent(agentId: string, payload: Record<string, unknown>): SimulatedEvent {
    const p = payload as AgentEventPayload
    const event = { event_id: this.prng.uuid(), occurred_at: this.time(), agent_id: agentId, payload: p }
    return { family: 'agent_events', key: agentId, event }
  }

  teamEvent(teamId: string, payload: Record<string, unknown>): SimulatedEvent {
    const p = payload as TeamEventPayload
    const event = { event_id: this.prng.uuid(), occurred_at: this.time(), team_id: teamId, payload: p }
    return { family: 'team_events', key: teamId, event }
  }

  taskEvent(taskId: string, payload: Record<string, unknown>): SimulatedEvent {
    const p = payload as TaskEventPayload
    const event = { event_id: this.prng.uuid(), occurred_at: this.time(), task_id: taskId, payload: p }
    return { family: 'task_events', key: taskId, event }
  }

  systemEvent(component: string, payload: Record<string, unknown>): SimulatedEvent {
    const p = payload as SystemEventPayload
    const event = { event_id: this.prng.uuid(), occurred_at: this.time(), component, payload: p }
    return { family: 'system_events', key: component, event }
  }
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}
