// The serdes the Agent Party topology's driver tests use: the production ones in single-object encoding
// (no registry needed), so every output a test reads went through its Avro schema; plus the entity
// snapshots' serdes by name, for tests that build parts of the topology.
import type { ProcessorConfig } from '../../processors/config.js'
import { resolveProcessorConfig } from '../../processors/config.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import { createProcessorSerdes, type ProcessorSerdes } from '../../processors/serdes.js'
import type { Serde } from '../../topology/index.js'

export interface TestProcessorSerdes extends ProcessorSerdes {
  readonly agentSnapshot: Serde<AgentSnapshot>
  readonly teamSnapshot: Serde<TeamSnapshot>
  readonly taskSnapshot: Serde<TaskSnapshot>
}

export async function processorSerdes(
  config: ProcessorConfig = resolveProcessorConfig(),
): Promise<TestProcessorSerdes> {
  const serdes = await createProcessorSerdes(config, { encoding: 'single-object' })
  return {
    ...serdes,
    agentSnapshot: serdes.output('agents'),
    teamSnapshot: serdes.output('teams'),
    taskSnapshot: serdes.output('tasks'),
  }
}
