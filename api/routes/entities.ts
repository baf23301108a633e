// Entity reads from the Redis read model (viewer and up): agents by id and by status, capability,
// category and template; teams with their members' roles; tasks with their team and token use; the
// idle capacity per capability. Lists are sorted by id and paged (limit, offset).
import type { FastifyPluginAsync } from 'fastify'
import { ApiError, fromDependency } from '../errors.js'
import type { ApiServices } from '../services.js'

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['id'],
} as const

const paging = {
  limit: {
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: 'Items per page (at most 1000)',
  },
  offset: {
    type: 'integer',
    minimum: 0,
    maximum: 100_000_000,
    default: 0,
    description: 'Items to skip (ids sorted ascending)',
  },
} as const

// Short enough that 20 repeated values stay far below Node's 16 KiB limit on the request line.
const filterValue = { type: 'string', minLength: 1, maxLength: 200 } as const

const page = (ref: string) => ({
  type: 'object',
  properties: {
    items: { type: 'array', items: { $ref: `${ref}#` } },
    total: { type: 'integer', description: 'Items matching the filters, all pages' },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
  },
  required: ['items', 'total', 'limit', 'offset'],
})

const notFound = { 404: { $ref: 'Error#' }, 503: { $ref: 'Error#' } }

export function entityRoutes(services: ApiServices): FastifyPluginAsync {
  const read = services.readModel
  const redis = <T>(work: () => Promise<T>) => fromDependency('redis', work)

  return async (app) => {
    app.get(
      '/agents/:id',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['agents'],
          summary: "An agent's current state",
          params: idParams,
          response: { 200: { $ref: 'AgentSnapshot#' }, ...notFound },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string }
        const agent = await redis(() => read.getAgent(id))
        if (agent === null) throw new ApiError(404, 'AGENT_NOT_FOUND', `no agent ${id}`)
        return agent
      },
    )

    app.get(
      '/agents',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['agents'],
          summary: 'Agents, filtered by status, capabilities (all of them), category and template',
          description: 'Filters combine (an agent must match every one). Without filters: every agent.',
          querystring: {
            type: 'object',
            properties: {
              status: filterValue,
              capability: {
                type: 'array',
                items: filterValue,
                maxItems: 20,
                description: 'Repeat for several: agents having all of them',
              },
              category: filterValue,
              template: filterValue,
              ...paging,
            },
            additionalProperties: false,
          },
          response: { 200: page('AgentSnapshot'), 503: { $ref: 'Error#' } },
        },
      },
      async (request) => {
        const q = request.query as {
          status?: string
          capability?: string[]
          category?: string
          template?: string
          limit: number
          offset: number
        }
        const lists: Promise<string[]>[] = []
        if (q.status !== undefined) lists.push(read.agentsByStatus(q.status))
        if (q.capability !== undefined && q.capability.length > 0)
          lists.push(read.agentsWithCapabilities(q.capability))
        if (q.category !== undefined) lists.push(read.agentsByCategory(q.category))
        if (q.template !== undefined) lists.push(read.agentsByTemplate(q.template))
        if (lists.length === 0) lists.push(read.allAgents())
        return redis(async () => {
          const ids = intersect(await Promise.all(lists))
          const items = await read.getAgents(ids.slice(q.offset, q.offset + q.limit))
          return { items, total: ids.length, limit: q.limit, offset: q.offset }
        })
      },
    )

    app.get(
      '/teams/:id',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['teams'],
          summary: 'A team with its members and their roles',
          params: idParams,
          response: { 200: { $ref: 'TeamWithRoles#' }, ...notFound },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string }
        const team = await redis(() => read.getTeam(id))
        if (team === null) throw new ApiError(404, 'TEAM_NOT_FOUND', `no team ${id}`)
        return team
      },
    )

    app.get(
      '/teams',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['teams'],
          summary: 'Teams, optionally by status',
          querystring: {
            type: 'object',
            properties: { status: filterValue, ...paging },
            additionalProperties: false,
          },
          response: { 200: page('TeamSnapshot'), 503: { $ref: 'Error#' } },
        },
      },
      async (request) => {
        const q = request.query as { status?: string; limit: number; offset: number }
        return redis(async () => {
          const ids = q.status === undefined ? await read.allTeams() : await read.teamsByStatus(q.status)
          const items = await read.getTeams(ids.slice(q.offset, q.offset + q.limit))
          return { items, total: ids.length, limit: q.limit, offset: q.offset }
        })
      },
    )

    app.get(
      '/tasks/:id',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['tasks'],
          summary: 'A task with its team and token use',
          params: idParams,
          response: { 200: { $ref: 'TaskSnapshot#' }, ...notFound },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string }
        const task = await redis(() => read.getTask(id))
        if (task === null) throw new ApiError(404, 'TASK_NOT_FOUND', `no task ${id}`)
        return task
      },
    )

    app.get(
      '/tasks',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['tasks'],
          summary: 'Tasks, by status and/or team',
          querystring: {
            type: 'object',
            properties: { status: filterValue, team: filterValue, ...paging },
            additionalProperties: false,
          },
          response: { 200: page('TaskSnapshot'), 503: { $ref: 'Error#' } },
        },
      },
      async (request) => {
        const q = request.query as { status?: string; team?: string; limit: number; offset: number }
        const lists: Promise<string[]>[] = []
        if (q.status !== undefined) lists.push(read.tasksByStatus(q.status))
        if (q.team !== undefined) lists.push(read.tasksOfTeam(q.team))
        if (lists.length === 0) lists.push(read.allTasks())
        return redis(async () => {
          const ids = intersect(await Promise.all(lists))
          const items = await read.getTasks(ids.slice(q.offset, q.offset + q.limit))
          return { items, total: ids.length, limit: q.limit, offset: q.offset }
        })
      },
    )

    app.get(
      '/capacity/:capability',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['agents'],
          summary: 'Agents having a capability, by status (idle ones listed)',
          params: {
            type: 'object',
            properties: { capability: { type: 'string', minLength: 1, maxLength: 200 } },
            required: ['capability'],
          },
          response: { 200: { $ref: 'IdleAgentsByCapability#' }, ...notFound },
        },
      },
      async (request) => {
        const { capability } = request.params as { capability: string }
        const capacity = await redis(() => read.capacity(capability))
        if (capacity === null)
          throw new ApiError(404, 'CAPABILITY_NOT_FOUND', `no agent has capability ${capability}`)
        return capacity
      },
    )
  }
}

/** The ids in every (sorted) list, sorted. */
function intersect(lists: readonly string[][]): string[] {
  const [first, ...rest] = [...lists].sort((a, b) => a.length - b.length)
  if (first === undefined) return []
  const sets = rest.map((l) => new Set(l))
  return first.filter((id) => sets.every((s) => s.has(id)))
}
