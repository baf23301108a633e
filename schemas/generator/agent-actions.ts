// What happens to agents on their own: instantiation from a template, going offline and back,
// gaining and losing capabilities, termination; and the status changes teams cause. Only free agents
// (in no team) change status on their own, lose capabilities or are terminated, so a team never loses
// a member or a capability it was formed for.
import type { AgentStatus } from '../generated/types.js'
import { CAPABILITIES, capabilityByName, TEMPLATES, TERMINATION_REASONS } from './platform-catalog.js'
import { NS, type SimAgent, type SimulatedEvent, type SimulationWorld } from './simulation-world.js'

export function createAgent(world: SimulationWorld): SimulatedEvent {
  const template = world.prng.pick(TEMPLATES)
  const counter = (world.nameCounters.get(template.namePrefix) ?? 0) + 1
  world.nameCounters.set(template.namePrefix, counter)
  const agent: SimAgent = {
    id: world.prng.uuid(),
    name: `${template.namePrefix}-${counter}`,
    status: 'IDLE',
    capabilities: new Map(template.capabilities.map((name) => [name, capabilityByName(name).category])),
    teamId: undefined,
  }
  world.agents.set(agent.id, agent)
  return world.agentEvent(agent.id, {
    [`${NS}AgentCreated`]: {
      template_id: template.id,
      version: template.version,
      name: agent.name,
      capabilities: [...agent.capabilities].map(([name, category]) => ({ name, category })),
      model: template.model,
    },
  })
}

export function setStatus(world: SimulationWorld, agent: SimAgent, status: AgentStatus): SimulatedEvent {
  const previous = agent.status
  agent.status = status
  return world.agentEvent(agent.id, { [`${NS}AgentStatusChanged`]: { previous_status: previous, status } })
}

/** Frees an agent of its team, with the status change that says so. */
export function release(world: SimulationWorld, agent: SimAgent, status: AgentStatus): SimulatedEvent {
  agent.teamId = undefined
  return setStatus(world, agent, status)
}

export function toggleOffline(world: SimulationWorld, agent: SimAgent): SimulatedEvent {
  return setStatus(world, agent, agent.status === 'OFFLINE' ? 'IDLE' : 'OFFLINE')
}

export function addCapability(world: SimulationWorld): SimulatedEvent | undefined {
  const agent = world.agents.get(world.prng.pick([...world.agents.keys()])) as SimAgent
  const missing = CAPABILITIES.filter((c) => !agent.capabilities.has(c.name))
  if (missing.length === 0) return undefined
  const capability = world.prng.pick(missing)
  agent.capabilities.set(capability.name, capability.category)
  return world.agentEvent(agent.id, { [`${NS}CapabilityAdded`]: { capability } })
}

export function removeCapability(world: SimulationWorld, free: SimAgent[]): SimulatedEvent {
  const agent = world.prng.pick(free.filter((a) => a.capabilities.size > 1))
  const name = world.prng.pick([...agent.capabilities.keys()])
  agent.capabilities.delete(name)
  return world.agentEvent(agent.id, { [`${NS}CapabilityRemoved`]: { capability_name: name } })
}

export function terminate(world: SimulationWorld, agent: SimAgent): SimulatedEvent {
  world.agents.delete(agent.id)
  return world.agentEvent(agent.id, {
    [`${NS}AgentTerminated`]: { reason: world.prng.pick(TERMINATION_REASONS) },
  })
}
