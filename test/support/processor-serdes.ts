// The serdes the Agent Party topology's driver tests use: the production ones in single-object encoding
// (no registry needed), so every output a test reads went through its Avro schema; plus the entity
// snapshots' serdes by name, for tests that build parts of the topology.
import type { ProcessorConfig } from '../../processors/config.js'
import { resolveProcessorConfig } from '../../processors/config.js'
import type { DataQualityRecord } from '../../processors/data-quality.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import { createProcessorSerdes, type ProcessorSerdes } from '../../processors/serdes.js'
import type { Serde } from '../../topology/index.js'

export interface TestProcessorSerdes extends ProcessorSerdes {
  readonly agentSnapshot: Serde<AgentSnapshot>
  readonly teamSnapshot: Serde<TeamSnapshot>
  readonly taskSnapshot: Serde<TaskSnapshot>
  /** The entity topology's outputs (entity-references.ts) in their Avro schemas, as the topology writes them. */
  readonly entityOutputs: {
    readonly agents: Serde<AgentSnapshot>
    readonly teams: Serde<TeamSnapshot>
    readonly tasks: Serde<TaskSnapshot>
    readonly dataQuality: Serde<DataQualityRecord>
  }
}

export async function processorSerdes(
  config: ProcessorConfig = resolveProcessorConfig(),
): Promise<TestProcessorSerdes> {
  const serdes = await createProcessorSerdes(config, { encoding: 'single-object' })
  const agentSnapshot = serdes.output<AgentSnapshot>('agents')
  const teamSnapshot = serdes.output<TeamSnapshot>('teams')
  const taskSnapshot = serdes.output<TaskSnapshot>('tasks')
  return {
    ...serdes,
    agentSnapshot,
    teamSnapshot,
    taskSnapshot,
    entityOutputs: {
      agents: agentSnapshot,
      teams: teamSnapshot,
      tasks: taskSnapshot,
      dataQuality: serdes.output<DataQualityRecord>('dataQuality'),
    },
  }
}
