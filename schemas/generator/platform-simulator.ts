// Simulates the life of the platform, one event per step, in event-time order: agents instantiated
// from templates, changing status and capabilities, terminated; tasks created, teams formed for them
// (sometimes failing), tasks run by their team and completed with token usage, failed or cancelled;
// components reporting metrics and health. Step n happens at baseTime + n * 1000 / rate ms.
//
// Consequences of an event are scheduled as follow-ups a few steps later and run before anything
// new happens, so causes always precede effects in event time: no task ends before it is created,
// every member of a formed team exists, is idle and stays alive until the team is disbanded.
import { addCapability, createAgent, removeCapability, terminate, toggleOffline } from './agent-actions.js'
import { healthReport, randomMetric } from './component-reports.js'
import type { Seed } from './prng.js'
import {
  type FollowUp,
  type SimulatedEvent,
  type SimulationOptions,
  SimulationWorld,
} from './simulation-world.js'
import { createTask } from './task-lifecycle.js'

export type { SimulatedEvent, SimulationOptions } from './simulation-world.js'

export class PlatformSimulator {
  readonly #world: SimulationWorld

  constructor(seed: Seed, options: SimulationOptions) {
    this.#world = new SimulationWorld(seed, options)
  }

  next(): SimulatedEvent {
    const world = this.#world
    for (;;) {
      const due = world.followUps.peekPriority()
      const event =
        due !== undefined && due <= world.step ? (world.followUps.pop() as FollowUp)() : this.#spontaneous()
      if (event) {
        world.step++
        return event
      }
    }
  }

  /** Something new, when no consequence is due: mostly tasks and metric samples. */
  #spontaneous(): SimulatedEvent {
    const world = this.#world
    const { minAgents, maxAgents } = world.options
    if (world.agents.size < minAgents) return createAgent(world)
    const free = world.freeAgents()
    const action = world.prng.weighted({
      task: 24,
      metric: 40,
      health: 3,
      createAgent: world.agents.size < maxAgents ? 5 : 0,
      toggleOffline: free.length > 0 ? 6 : 0,
      addCapability: 3,
      removeCapability: free.some((a) => a.capabilities.size > 1) ? 2 : 0,
      terminate: world.agents.size > minAgents && free.length > 0 ? 2 : 0,
    })
    switch (action) {
      case 'task':
        return createTask(world)
      case 'health':
        return healthReport(world)
      case 'createAgent':
        return createAgent(world)
      case 'toggleOffline':
        return toggleOffline(world, world.prng.pick(free))
      case 'addCapability':
        return addCapability(world) ?? randomMetric(world)
      case 'removeCapability':
        return removeCapability(world, free)
      case 'terminate':
        return terminate(world, world.prng.pick(free))
      default:
        return randomMetric(world)
    }
  }
}
