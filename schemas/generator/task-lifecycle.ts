// The causal chain of a task, each step scheduled a few steps after its cause: TaskCreated ->
// TeamFormationRequested -> TeamFormed (members go BUSY) or TeamFormationFailed (-> TaskCancelled) ->
// TaskAssigned -> TaskStarted -> (MemberJoined / MemberLeft) -> TaskCompleted, TaskFailed or
// TaskCancelled -> TeamDisbanded -> members IDLE. Members are chosen among idle free agents covering
// the required capabilities and stay taken until their release.
import type { TaskPriority, TeamMember } from '../generated/types.js'
import { release, setStatus } from './agent-actions.js'
import { inferenceTime, metricEvent } from './component-reports.js'
import { CAPABILITIES, TASK_ERRORS } from './platform-catalog.js'
import {
  NS,
  round,
  type SimAgent,
  type SimTask,
  type SimTeam,
  type SimulatedEvent,
  type SimulationWorld,
} from './simulation-world.js'

export function createTask(world: SimulationWorld): SimulatedEvent {
  const { prng } = world
  const required = distinct(
    world,
    prng.int(1, 3),
    CAPABILITIES.map((c) => c.name),
  )
  const task: SimTask = { id: prng.uuid(), required, budget: 1000 * prng.int(5, 200) }
  world.tasks.set(task.id, task)
  const priority = prng.weighted<Exclude<TaskPriority, 'UNKNOWN'>>({
    LOW: 3,
    NORMAL: 5,
    HIGH: 2,
    CRITICAL: 0.5,
  })
  world.later(2, 6, () => requestTeam(world, task))
  return world.taskEvent(task.id, {
    [`${NS}TaskCreated`]: { priority, required_capabilities: required, token_budget: task.budget },
  })
}

function requestTeam(world: SimulationWorld, task: SimTask): SimulatedEvent {
  const team: SimTeam = { id: world.prng.uuid(), taskId: task.id, members: [] }
  world.later(3, 12, () => formTeam(world, task, team))
  return world.teamEvent(team.id, {
    [`${NS}TeamFormationRequested`]: { task_id: task.id, required_capabilities: task.required },
  })
}

function formTeam(world: SimulationWorld, task: SimTask, team: SimTeam): SimulatedEvent {
  const inferenceMs = inferenceTime(world)
  world.later(0, 2, () =>
    metricEvent(world, 'team-former', 'gnn_inference_time', inferenceMs, 'MILLISECONDS'),
  )
  const chosen = chooseMembers(world, task.required)
  const modelFailed = world.prng.chance(world.options.formationFailureShare)
  if (typeof chosen === 'string' || modelFailed) {
    const reason = typeof chosen === 'string' ? chosen : 'formation score below threshold'
    world.later(1, 3, () =>
      endTask(world, task, { [`${NS}TaskCancelled`]: { reason: `no team: ${reason}` } }),
    )
    return world.teamEvent(team.id, { [`${NS}TeamFormationFailed`]: { task_id: task.id, reason } })
  }
  team.members = chosen.map((agent, i) => ({
    agent_id: agent.id,
    role: i === 0 ? 'LEADER' : agent.capabilities.has('code-review') ? 'REVIEWER' : 'MEMBER',
  }))
  for (const agent of chosen) {
    agent.teamId = team.id
    world.later(1, 3, () => setStatus(world, agent, 'BUSY'))
  }
  world.later(1, 3, () => assignTask(world, task, team))
  return world.teamEvent(team.id, {
    [`${NS}TeamFormed`]: {
      task_id: task.id,
      members: team.members.map((m) => ({ ...m })),
      formation_score: round(world.prng.between(0.55, 0.99), 4),
      inference_time_ms: inferenceMs,
    },
  })
}

/** Idle free agents covering every required capability (plus up to two more), or why not. */
function chooseMembers(world: SimulationWorld, required: string[]): SimAgent[] | string {
  const { prng } = world
  const idle = world.freeAgents().filter((a) => a.status === 'IDLE')
  const chosen: SimAgent[] = []
  for (const capability of required) {
    if (chosen.some((a) => a.capabilities.has(capability))) continue
    const candidates = idle.filter((a) => a.capabilities.has(capability) && !chosen.includes(a))
    if (candidates.length === 0) return `no idle agent with capability ${capability}`
    chosen.push(prng.pick(candidates))
  }
  const extras = idle.filter((a) => !chosen.includes(a))
  for (let n = prng.int(chosen.length < 2 ? 1 : 0, 2); n > 0 && extras.length > 0; n--) {
    chosen.push(extras.splice(prng.int(0, extras.length - 1), 1)[0] as SimAgent)
  }
  return chosen.length >= 2 ? chosen : 'fewer than two idle agents'
}

function assignTask(world: SimulationWorld, task: SimTask, team: SimTeam): SimulatedEvent {
  world.later(1, 4, () => startTask(world, task, team))
  return world.taskEvent(task.id, {
    [`${NS}TaskAssigned`]: { team_id: team.id, agent_ids: team.members.map((m) => m.agent_id) },
  })
}

function startTask(world: SimulationWorld, task: SimTask, team: SimTeam): SimulatedEvent {
  const { prng } = world
  task.startedAt = world.time()
  const workSteps = prng.int(20, 150)
  if (prng.chance(0.1)) world.later(5, workSteps - 5, () => memberJoins(world, team))
  if (prng.chance(0.05) && team.members.length > 2)
    world.later(5, workSteps - 5, () => memberLeaves(world, team))
  world.followUps.push(world.step + workSteps, () => finishTask(world, task, team))
  return world.taskEvent(task.id, { [`${NS}TaskStarted`]: { team_id: team.id } })
}

function memberJoins(world: SimulationWorld, team: SimTeam): SimulatedEvent | undefined {
  const idle = world.freeAgents().filter((a) => a.status === 'IDLE')
  if (idle.length === 0) return undefined
  const agent = world.prng.pick(idle)
  agent.teamId = team.id
  const member: TeamMember = { agent_id: agent.id, role: 'MEMBER' }
  team.members.push(member)
  world.later(1, 2, () => setStatus(world, agent, 'BUSY'))
  return world.teamEvent(team.id, { [`${NS}MemberJoined`]: { member: { ...member } } })
}

/** A non-leader goes offline mid-task; it stays taken until its status change is out. */
function memberLeaves(world: SimulationWorld, team: SimTeam): SimulatedEvent | undefined {
  const leaving = team.members.slice(1).filter((m) => world.agents.get(m.agent_id)?.status === 'BUSY')
  if (leaving.length === 0) return undefined
  const member = world.prng.pick(leaving)
  team.members.splice(team.members.indexOf(member), 1)
  const agent = world.agents.get(member.agent_id) as SimAgent
  world.later(0, 1, () => release(world, agent, 'OFFLINE'))
  return world.teamEvent(team.id, {
    [`${NS}MemberLeft`]: { agent_id: member.agent_id, reason: 'went offline' },
  })
}

function finishTask(world: SimulationWorld, task: SimTask, team: SimTeam): SimulatedEvent {
  const share = world.options.taskFailureShare
  const outcome = world.prng.weighted({ completed: 1 - 1.5 * share, failed: share, cancelled: share / 2 })
  const spent = tokensUsed(world, task, team, outcome === 'completed' ? 0.95 : 0.5)
  world.later(1, 3, () => disband(world, team, `task ${outcome}`))
  if (outcome === 'completed') {
    const duration = world.time() - (task.startedAt as number)
    return endTask(world, task, { [`${NS}TaskCompleted`]: { tokens_used: spent, duration_ms: duration } })
  }
  if (outcome === 'failed') {
    return endTask(world, task, {
      [`${NS}TaskFailed`]: { error: world.prng.pick(TASK_ERRORS), tokens_used: spent },
    })
  }
  return endTask(world, task, { [`${NS}TaskCancelled`]: { reason: 'withdrawn by its requester' } })
}

/** Tokens per member: a share of the budget, split unevenly. */
function tokensUsed(
  world: SimulationWorld,
  task: SimTask,
  team: SimTeam,
  maxShare: number,
): Record<string, number> {
  const total = Math.floor(task.budget * world.prng.between(0.2, maxShare))
  const weights = team.members.map(() => world.prng.between(0.5, 1.5))
  const sum = weights.reduce((a, b) => a + b, 0)
  return Object.fromEntries(
    team.members.map((m, i) => [m.agent_id, Math.floor((total * (weights[i] as number)) / sum)]),
  )
}

function endTask(world: SimulationWorld, task: SimTask, payload: Record<string, unknown>): SimulatedEvent {
  world.tasks.delete(task.id)
  return world.taskEvent(task.id, payload)
}

function disband(world: SimulationWorld, team: SimTeam, reason: string): SimulatedEvent {
  for (const member of team.members) {
    const agent = world.agents.get(member.agent_id) as SimAgent
    world.later(1, 2, () => release(world, agent, 'IDLE'))
  }
  return world.teamEvent(team.id, { [`${NS}TeamDisbanded`]: { reason } })
}

function distinct(world: SimulationWorld, n: number, from: readonly string[]): string[] {
  const pool = [...from]
  const out: string[] = []
  while (out.length < n && pool.length > 0)
    out.push(pool.splice(world.prng.int(0, pool.length - 1), 1)[0] as string)
  return out
}
