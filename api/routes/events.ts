// Event ingest: POST /events (operator and up) validates a JSON event against its Avro schema and
// produces it to its topic with the idempotent producer; POST /agents (admin) instantiates an agent
// (AgentCreated with a new id), the operations guide's example. Validation is the converter's
// (api/ingest), which names every invalid field; the body schema in the OpenAPI document is its
// documentation, generated from the Avro schemas.
import type { FastifyPluginAsync } from 'fastify'
import { ApiError, DependencyError } from '../errors.js'
import { agentRequestJsonSchema, EventValidationError, eventRequestJsonSchema } from '../ingest/event-json.js'
import type { ApiServices, IngestResult } from '../services.js'

const accepted = {
  type: 'object',
  description: 'Where the event was written: its topic, partition and offset',
  properties: {
    type: { type: 'string' },
    key: { type: 'string' },
    event_id: { type: 'string' },
    topic: { type: 'string' },
    partition: { type: 'integer' },
    offset: { type: 'integer' },
  },
  required: ['type', 'key', 'event_id', 'topic', 'partition', 'offset'],
} as const

export function eventRoutes(services: ApiServices): FastifyPluginAsync {
  return async (app) => {
    // The converter validates the body itself (every invalid field with its path); Fastify's
    // validator would stop at the first union branch mismatch.
    const documentationOnly = () => () => true

    app.post(
      '/events',
      {
        config: { access: 'operator' },
        validatorCompiler: documentationOnly,
        schema: {
          tags: ['events'],
          summary: 'Publish one platform event to its topic',
          description:
            'The body names the payload record in `type` and carries its fields at the top level, beside the key field of its family (`agent_id`, `team_id`, `task_id`, or `component` for system events). `event_id` (a UUID) is generated when absent; `occurred_at` (ISO-8601 or epoch milliseconds) defaults to now, and may be at most 60 minutes in the future (Kafka refuses later record timestamps) and no older than the retention of its topic (Kafka would delete the record at once). Unknown fields are refused. The answer says where the event was written.',
          body: eventRequestJsonSchema(),
          response: { 202: accepted, 400: { $ref: 'Error#' }, 503: { $ref: 'Error#' } },
        },
      },
      async (request, reply) =>
        reply.status(202).send(await write(() => services.events.ingest(request.body))),
    )

    app.post(
      '/agents',
      {
        config: { access: 'admin' },
        validatorCompiler: documentationOnly,
        schema: {
          tags: ['agents'],
          summary: 'Instantiate an agent: AgentCreated with a new agent id',
          description: "The body is AgentCreated's fields; the new agent's id is the answer's `key`.",
          body: agentRequestJsonSchema(),
          response: { 202: accepted, 400: { $ref: 'Error#' }, 503: { $ref: 'Error#' } },
        },
      },
      async (request, reply) =>
        reply.status(202).send(await write(() => services.events.createAgent(request.body))),
    )
  }
}

async function write(work: () => Promise<IngestResult>): Promise<IngestResult> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof EventValidationError)
      throw new ApiError(400, 'VALIDATION_FAILED', error.message, error.details)
    if (error instanceof ApiError) throw error
    throw new DependencyError('kafka', error)
  }
}
