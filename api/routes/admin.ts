// Pipeline operations for admins: the application reset (the runtime's reset and the sinks'
// resets, through the one routine in ops/), refused with 409 while any of the groups has live members;
// and the replay (ops/replay.ts: reset, rebuild in this process, before/after comparison) as a job.
import type { FastifyPluginAsync } from 'fastify'
import type { SinkName } from '../../config/config.js'
import { ResetRefusedError } from '../../ops/reset.js'
import { ApiError, DependencyError } from '../errors.js'
import { ReplayAlreadyRunningError, type ReplayRequest } from '../replay-jobs.js'
import type { ApiServices } from '../services.js'

export function adminRoutes(services: ApiServices): FastifyPluginAsync {
  return async (app) => {
    app.post(
      '/admin/reset',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['operations'],
          summary: 'Reset the processors and the sinks for a replay from the earliest offsets',
          description:
            "Stop every processor and sink instance first: while the processor's group or a sink's group has live members the reset is refused (409) and nothing changes. Then start them again to rebuild.",
          body: {
            type: 'object',
            properties: {
              sinks: {
                type: 'array',
                items: { type: 'string', enum: ['neo4j', 'redis', 'archive'] },
                uniqueItems: true,
                description: 'The sinks to reset with the application (default: neo4j and redis)',
              },
            },
            additionalProperties: false,
          },
          response: {
            200: { type: 'object', additionalProperties: true, description: 'What was reset' },
            409: { $ref: 'Error#' },
            503: { $ref: 'Error#' },
          },
        },
      },
      async (request) => {
        const { sinks } = (request.body ?? {}) as { sinks?: SinkName[] }
        try {
          const report = await services.reset(sinks === undefined ? {} : { sinks })
          request.log.warn({ user: request.principal?.subject, sinks }, 'pipeline reset')
          return report
        } catch (error) {
          if (error instanceof ApiError) throw error
          if (error instanceof ResetRefusedError) throw new ApiError(409, 'RESET_REFUSED', error.message)
          throw new DependencyError('kafka', error)
        }
      },
    )

    app.post(
      '/admin/replay',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['operations'],
          summary: 'Replay from the earliest offsets: reset, rebuild, compare (a job)',
          description:
            "Stop every processor and sink instance first: while the processor's group or a sink's group has live members the replay is refused (409) and nothing changes. The replay digests the sinks' state, resets the pipeline, runs the processor and the sinks in the API's process until they rebuilt everything, and compares the state with the one before. It runs for minutes: the answer (202) is the job as soon as it is under way; follow it at its Location. One replay at a time.",
          body: {
            type: 'object',
            properties: {
              from: {
                type: 'string',
                enum: ['kafka', 'archive'],
                description:
                  "kafka (default): the input topics from their earliest offsets; archive: the archive's records re-published into <input>.replay first, for history older than Kafka's retention",
              },
              sinks: {
                type: 'array',
                items: { type: 'string', enum: ['neo4j', 'redis'] },
                uniqueItems: true,
                minItems: 1,
                description: 'The sinks to rebuild (default: neo4j and redis)',
              },
            },
            additionalProperties: false,
          },
          response: {
            202: { $ref: 'ReplayJob#' },
            409: { $ref: 'Error#' },
            503: { $ref: 'Error#' },
          },
        },
      },
      async (request, reply) => {
        const body = (request.body ?? {}) as Partial<ReplayRequest>
        const replayRequest: ReplayRequest = {
          from: body.from ?? 'kafka',
          ...(body.sinks ? { sinks: body.sinks } : {}),
        }
        try {
          const job = await services.replays.start(replayRequest)
          request.log.warn(
            { user: request.principal?.subject, job: job.id, ...replayRequest },
            'replay started',
          )
          return reply.code(202).header('location', `/admin/replay/${job.id}`).send(job)
        } catch (error) {
          if (error instanceof ApiError) throw error
          if (error instanceof ResetRefusedError) throw new ApiError(409, 'RESET_REFUSED', error.message)
          if (error instanceof ReplayAlreadyRunningError) throw new ApiError(409, error.code, error.message)
          throw new DependencyError('kafka', error)
        }
      },
    )

    app.get(
      '/admin/replay/:id',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['operations'],
          summary: 'A replay job: its progress while it runs, then its outcome',
          params: {
            type: 'object',
            properties: {
              id: { type: 'string', format: 'uuid', description: 'The job id POST /admin/replay gave' },
            },
            required: ['id'],
          },
          response: { 200: { $ref: 'ReplayJob#' }, 404: { $ref: 'Error#' } },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string }
        const job = services.replays.get(id)
        if (job === undefined)
          throw new ApiError(404, 'NOT_FOUND', `no replay job ${id} (this process keeps its last ten)`)
        return job
      },
    )
  }
}
