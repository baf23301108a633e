// What the platform's components report on system_events: metric samples (some drawn, some read
// from the simulated state, such as live agents and active tasks) and health.
import type { MetricUnit } from '../generated/types.js'
import { COMPONENT_NAMES, COMPONENTS } from './platform-catalog.js'
import { NS, round, type SimulatedEvent, type SimulationWorld } from './simulation-world.js'

export function randomMetric(world: SimulationWorld): SimulatedEvent {
  const component = world.prng.pick(COMPONENT_NAMES)
  const spec = world.prng.pick(COMPONENTS[component] ?? [])
  return metricEvent(world, component, spec.name, sample(world, spec.name), spec.unit)
}

export function metricEvent(
  world: SimulationWorld,
  component: string,
  name: string,
  value: number,
  unit: MetricUnit,
): SimulatedEvent {
  return world.systemEvent(component, { [`${NS}ComponentMetric`]: { name, value, unit } })
}

export function healthReport(world: SimulationWorld): SimulatedEvent {
  const component = world.prng.pick(COMPONENT_NAMES)
  const level = world.prng.weighted({ HEALTHY: 90, DEGRADED: 8, UNHEALTHY: 2 })
  const message =
    level === 'HEALTHY' ? 'all checks pass' : `${level.toLowerCase()}: dependency responds slowly`
  return world.systemEvent(component, { [`${NS}ComponentHealth`]: { level, message } })
}

/** GNN inference time of the team former, also reported by each formation. */
export function inferenceTime(world: SimulationWorld): number {
  return round(world.prng.logNormal(40, 0.5), 3)
}

function sample(world: SimulationWorld, metric: string): number {
  const { prng } = world
  switch (metric) {
    case 'api_latency':
      return round(prng.logNormal(35, 0.6), 3)
    case 'gnn_inference_time':
      return inferenceTime(world)
    case 'active_tasks':
      return world.tasks.size
    case 'live_agents':
      return world.agents.size
    case 'cpu':
      return round(prng.between(5, 95), 1)
    case 'heap_used':
      return prng.int(50, 400) * 1024 * 1024
    case 'tokens_per_second':
      return round(prng.logNormal(1200, 0.4), 1)
    default:
      return prng.int(0, 500)
  }
}
