// Pipeline operations for admins: the application reset (the runtime's reset and the sinks'
// resets, through the one routine in ops/), refused with 409 while any of the groups has live members.
import type { FastifyPluginAsync } from 'fastify'
import type { SinkName } from '../../config/config.js'
import { ResetRefusedError } from '../../ops/reset.js'
import { ApiError, DependencyError } from '../errors.js'
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
  }
}
