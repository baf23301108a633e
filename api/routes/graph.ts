// Graph questions answered by Neo4j (viewer and up): idle agents having all of a set of
// capabilities, and the agents and tasks around a team.
import type { FastifyPluginAsync } from 'fastify'
import { ApiError, fromDependency } from '../errors.js'
import type { ApiServices } from '../services.js'

const capabilityList = {
  type: 'object',
  properties: { name: { type: 'string' }, category: { type: 'string', nullable: true } },
  required: ['name'],
} as const

const graphAgent = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', nullable: true },
    template_id: { type: 'string', nullable: true },
    version: { type: 'integer', nullable: true },
    capabilities: { type: 'array', items: capabilityList },
  },
  required: ['id', 'status', 'template_id', 'version', 'capabilities'],
} as const

export function graphRoutes(services: ApiServices): FastifyPluginAsync {
  const neo4j = <T>(work: () => Promise<T>) => fromDependency('neo4j', work)
  return async (app) => {
    app.get(
      '/graph/idle-agents',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['graph'],
          summary: 'IDLE agents that have every capability asked for',
          querystring: {
            type: 'object',
            properties: {
              capability: {
                type: 'array',
                items: { type: 'string', minLength: 1, maxLength: 200 },
                minItems: 1,
                maxItems: 20,
              },
              limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            },
            required: ['capability'],
            additionalProperties: false,
          },
          response: {
            200: {
              type: 'object',
              properties: {
                capabilities: { type: 'array', items: { type: 'string' } },
                agents: { type: 'array', items: graphAgent },
              },
              required: ['capabilities', 'agents'],
            },
            503: { $ref: 'Error#' },
          },
        },
      },
      async (request) => {
        const { capability, limit } = request.query as { capability: string[]; limit: number }
        const capabilities = [...new Set(capability)].sort()
        return {
          capabilities,
          agents: await neo4j(() => services.graph.idleAgentsWithCapabilities(capabilities, limit)),
        }
      },
    )

    app.get(
      '/graph/teams/:id',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['graph'],
          summary: 'A team with its member agents (roles, capabilities) and its tasks, from the graph',
          params: {
            type: 'object',
            properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
            required: ['id'],
          },
          response: {
            200: {
              type: 'object',
              properties: {
                team: {
                  type: 'object',
                  properties: { id: { type: 'string' }, status: { type: 'string', nullable: true } },
                  required: ['id', 'status'],
                },
                members: {
                  type: 'array',
                  items: {
                    ...graphAgent,
                    properties: { ...graphAgent.properties, role: { type: 'string', nullable: true } },
                  },
                },
                tasks: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' },
                      status: { type: 'string', nullable: true },
                      priority: { type: 'string', nullable: true },
                      tokens_used: { type: 'number', nullable: true },
                    },
                    required: ['id'],
                  },
                },
              },
              required: ['team', 'members', 'tasks'],
            },
            404: { $ref: 'Error#' },
            503: { $ref: 'Error#' },
          },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string }
        const found = await neo4j(() => services.graph.teamNeighbourhood(id))
        if (found === null) throw new ApiError(404, 'TEAM_NOT_FOUND', `no team ${id} in the graph`)
        return found
      },
    )
  }
}
