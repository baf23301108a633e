// The serdes the Agent Party topology's driver tests use: the platform's events in single-object
// encoding (no registry needed), the snapshots as JSON.

import { engineSerde } from '../../processors/event-serdes.js'
import type { ProcessorSerdes } from '../../processors/topology.js'
import { createEventSerde } from '../../schemas/serde/create-event-serdes.js'
import { Serdes } from '../../topology/index.js'

export async function processorSerdes(): Promise<ProcessorSerdes> {
  const [agentEvents, teamEvents, taskEvents] = await Promise.all([
    createEventSerde('agent_events', { encoding: 'single-object' }),
    createEventSerde('team_events', { encoding: 'single-object' }),
    createEventSerde('task_events', { encoding: 'single-object' }),
  ])
  return {
    agentEvents: engineSerde(agentEvents),
    teamEvents: engineSerde(teamEvents),
    taskEvents: engineSerde(taskEvents),
    agentSnapshot: Serdes.Json(),
    teamSnapshot: Serdes.Json(),
    taskSnapshot: Serdes.Json(),
  }
}
