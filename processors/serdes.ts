// The serdes of the Agent Party topology: the four event families (either encoding) and every output
// with its Avro schema (schemas/avro/outputs/), written in the same encoding as the events: the
// registry wire format under `<output topic>-value`, or single-object encoding without a registry.
import type { Config } from '../config/config.js'
import {
  type AgentEvent,
  createEventSerde,
  outputSchema,
  RegistryClient,
  registrySchemaLookup,
  type SchemaLookup,
  type SystemEvent,
  type TaskEvent,
  type TeamEvent,
} from '../schemas/index.js'
import type { EventSerde, SchemaEncoding } from '../schemas/serde/event-serde.js'
import { createRegistryValueSerde } from '../schemas/serde/registry-serde.js'
import { createSingleObjectValueSerde } from '../schemas/serde/single-object-serde.js'
import type { Serde } from '../topology/index.js'
import type { ProcessorConfig } from './config.js'
import { engineSerde } from './event-serdes.js'
import { OUTPUT_NAMES, OUTPUTS, type OutputName } from './outputs.js'

export interface ProcessorSerdes {
  readonly agentEvents: Serde<AgentEvent>
  readonly teamEvents: Serde<TeamEvent>
  readonly taskEvents: Serde<TaskEvent>
  readonly systemEvents: Serde<SystemEvent>
  /** The Avro serde of an output's values (the caller names the value type). */
  output<T>(name: OutputName): Serde<T>
}

export interface ProcessorSerdesOptions {
  readonly encoding: SchemaEncoding
  /** How registry ids are found (the registry encoding only). */
  readonly lookup?: SchemaLookup
  /** Register the schemas when their subjects lack them (default off: provisioning does). */
  readonly autoRegister?: boolean
}

/**
 * The serdes in the deployment's encoding (SCHEMA_ENCODING), with the registry at SCHEMA_REGISTRY_URL
 * for the registry wire format: what the processors and the sinks read and write with.
 */
export function configuredProcessorSerdes(
  config: Config,
  processor: ProcessorConfig,
): Promise<ProcessorSerdes> {
  return createProcessorSerdes(processor, {
    encoding: config.schemas.encoding,
    ...(config.schemas.encoding === 'registry'
      ? { lookup: registrySchemaLookup(new RegistryClient(config.schemaRegistry)) }
      : {}),
  })
}

export async function createProcessorSerdes(
  config: ProcessorConfig,
  options: ProcessorSerdesOptions,
): Promise<ProcessorSerdes> {
  const { encoding, lookup } = options
  const eventOptions = {
    encoding,
    topics: config.inputTopics,
    autoRegister: options.autoRegister ?? false,
    ...(lookup ? { lookup } : {}),
  }
  const [agentEvents, teamEvents, taskEvents, systemEvents] = await Promise.all([
    createEventSerde('agent_events', eventOptions),
    createEventSerde('team_events', eventOptions),
    createEventSerde('task_events', eventOptions),
    createEventSerde('system_events', eventOptions),
  ])
  const outputs = new Map<OutputName, Serde<unknown>>(
    await Promise.all(
      OUTPUT_NAMES.map(async (name): Promise<[OutputName, Serde<unknown>]> => {
        const schemas = outputSchema(OUTPUTS[name].schema)
        const topic = config.outputTopics[name]
        let serde: EventSerde<unknown>
        if (encoding === 'single-object') serde = createSingleObjectValueSerde(schemas, topic)
        else {
          if (lookup === undefined) throw new Error('the registry encoding needs a schema lookup')
          serde = await createRegistryValueSerde({
            schemas,
            topic,
            lookup,
            autoRegister: options.autoRegister ?? false,
          })
        }
        return [name, nullable(engineSerde(serde))]
      }),
    ),
  )
  return {
    agentEvents: engineSerde(agentEvents),
    teamEvents: engineSerde(teamEvents),
    taskEvents: engineSerde(taskEvents),
    systemEvents: engineSerde(systemEvents),
    output: <T>(name: OutputName) => outputs.get(name) as Serde<T>,
  }
}

/** Tombstones (a deleted window or entity) travel as null values, never through the Avro encoder. */
function nullable<T>(serde: Serde<T>): Serde<T> {
  return {
    serialize: (topic, value) =>
      value === null || value === undefined ? null : serde.serialize(topic, value),
    deserialize: (topic, bytes) => serde.deserialize(topic, bytes),
    ...(serde.prepare ? { prepare: serde.prepare } : {}),
  }
}
