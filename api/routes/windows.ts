// Windowed results of the processors (viewer and up), as the Redis sink keeps them: any windowed
// output by group and window range, the groups an output has, the token leaderboard of a window, and
// the recent alerts. Outputs are named as their topics without the `agent_party.` prefix
// (`tokens_by_agent`, `tokens_by_agent_1h`, ...).
import type { FastifyPluginAsync } from 'fastify'
import { OUTPUTS, type OutputName } from '../../processors/outputs.js'
import { REDIS_OUTPUTS } from '../../sinks/redis/writes.js'
import { ApiError, fromDependency } from '../errors.js'
import type { ApiServices } from '../services.js'

/** URL name (the default topic without `agent_party.`) -> output, for the windowed outputs. */
export const WINDOWED_OUTPUTS: ReadonlyMap<string, OutputName> = new Map(
  (Object.keys(REDIS_OUTPUTS) as OutputName[])
    .filter((name) => REDIS_OUTPUTS[name] === 'window' || REDIS_OUTPUTS[name] === 'session')
    .map((name) => [OUTPUTS[name].topic.replace(/^agent_party\./, ''), name]),
)

const MAX_RANGE_MS = 8 * 24 * 60 * 60 * 1000
const HOUR_MS = 60 * 60 * 1000

const outputParams = {
  type: 'object',
  properties: { output: { type: 'string', enum: [...WINDOWED_OUTPUTS.keys()] } },
  required: ['output'],
} as const

const time = {
  type: 'string',
  description: 'ISO-8601 time (2026-11-27T10:00:00Z) or milliseconds since the epoch',
  pattern:
    '^([1-9][0-9]{0,14}|0|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?)$',
  maxLength: 40,
} as const

export function windowRoutes(services: ApiServices): FastifyPluginAsync {
  const read = services.readModel
  const redis = <T>(work: () => Promise<T>) => fromDependency('redis', work)

  return async (app) => {
    app.get(
      '/windows/:output',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['metrics'],
          summary: 'The windows of one output and group whose start is in [from, to)',
          description:
            "`group` is the output's grouping key: an agent id, a team id, `<template_id>@<version>`, a priority, `<component>/<name>`, or `all` for outputs with one group; `GET /windows/{output}/groups` lists them. Default range: the last hour. At most 8 days.",
          params: outputParams,
          querystring: {
            type: 'object',
            properties: { group: { type: 'string', minLength: 1, maxLength: 300 }, from: time, to: time },
            required: ['group'],
            additionalProperties: false,
          },
          response: {
            200: {
              type: 'object',
              properties: {
                output: { type: 'string' },
                group: { type: 'string' },
                from: { type: 'integer' },
                to: { type: 'integer' },
                windows: {
                  type: 'array',
                  description:
                    "Oldest first; each value has the output's fields (see the output's Avro schema)",
                  items: {
                    type: 'object',
                    properties: { window_start: { type: 'integer' }, window_end: { type: 'integer' } },
                    required: ['window_start', 'window_end'],
                    additionalProperties: true,
                  },
                },
              },
              required: ['output', 'group', 'from', 'to', 'windows'],
            },
            400: { $ref: 'Error#' },
            503: { $ref: 'Error#' },
          },
        },
      },
      async (request) => {
        const { output } = request.params as { output: string }
        const q = request.query as { group: string; from?: string; to?: string }
        const now = Date.now()
        const to = q.to === undefined ? now + 1 : parseTime('to', q.to)
        const from = q.from === undefined ? to - HOUR_MS : parseTime('from', q.from)
        if (from >= to)
          throw new ApiError(400, 'BAD_RANGE', '`from` must be before `to`', [
            { field: 'from', message: 'is not before to' },
          ])
        if (to - from > MAX_RANGE_MS)
          throw new ApiError(400, 'BAD_RANGE', 'the range is longer than 8 days', [
            { field: 'from', message: 'more than 8 days before to' },
          ])
        const name = WINDOWED_OUTPUTS.get(output) as OutputName
        const windows = await redis(() => read.metricWindows(name, q.group, from, to))
        windows.sort((a, b) => a.window_start - b.window_start || a.window_end - b.window_end)
        return { output, group: q.group, from, to, windows }
      },
    )

    app.get(
      '/windows/:output/groups',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['metrics'],
          summary: 'The groups of an output that have windows, with the start of the latest one',
          params: outputParams,
          querystring: {
            type: 'object',
            properties: { limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 } },
            additionalProperties: false,
          },
          response: {
            200: {
              type: 'object',
              properties: {
                output: { type: 'string' },
                groups: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { group: { type: 'string' }, latest_start: { type: 'integer' } },
                    required: ['group', 'latest_start'],
                  },
                },
              },
              required: ['output', 'groups'],
            },
            503: { $ref: 'Error#' },
          },
        },
      },
      async (request) => {
        const { output } = request.params as { output: string }
        const { limit } = request.query as { limit: number }
        const groups = await redis(() => read.metricGroups(WINDOWED_OUTPUTS.get(output) as OutputName, limit))
        return { output, groups }
      },
    )

    app.get(
      '/leaderboard',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['metrics'],
          summary: 'The agents that consumed most tokens in a window',
          description:
            'Window: `window_start` (ISO-8601 or ms) of a 1-minute window (`period=1m`) or of a 1-hour hopping window (`period=1h`); default: the latest window written. Ties are ranked by agent id.',
          querystring: {
            type: 'object',
            properties: {
              period: { type: 'string', enum: ['1m', '1h'], default: '1m' },
              window_start: time,
              limit: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
            },
            additionalProperties: false,
          },
          response: {
            200: {
              type: 'object',
              properties: {
                period: { type: 'string' },
                window_start: { type: 'integer', nullable: true },
                entries: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      agent_id: { type: 'string' },
                      tokens: { type: 'number' },
                      rank: { type: 'integer' },
                    },
                    required: ['agent_id', 'tokens', 'rank'],
                  },
                },
              },
              required: ['period', 'window_start', 'entries'],
            },
            400: { $ref: 'Error#' },
            503: { $ref: 'Error#' },
          },
        },
      },
      async (request) => {
        const q = request.query as { period: '1m' | '1h'; window_start?: string; limit: number }
        const output = q.period === '1h' ? 'tokensByAgentHourly' : 'tokensByAgent'
        return redis(async () => {
          const start =
            q.window_start === undefined
              ? await read.latestWindowStart(output)
              : parseTime('window_start', q.window_start)
          const entries = start === null ? [] : await read.leaderboard(start, q.limit, output)
          return { period: q.period, window_start: start, entries }
        })
      },
    )

    app.get(
      '/alerts',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['metrics'],
          summary: 'The latest alerts, newest first',
          querystring: {
            type: 'object',
            properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
            additionalProperties: false,
          },
          response: {
            200: {
              type: 'object',
              properties: { alerts: { type: 'array', items: { $ref: 'Alert#' } } },
              required: ['alerts'],
            },
            503: { $ref: 'Error#' },
          },
        },
      },
      async (request) => {
        const { limit } = request.query as { limit: number }
        return { alerts: await redis(() => read.recentAlerts(limit)) }
      },
    )
  }
}

/** ISO-8601 or epoch milliseconds; a 400 naming the field otherwise. */
export function parseTime(field: string, value: string): number {
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isFinite(ms))
    throw new ApiError(400, 'VALIDATION_FAILED', `${field} is not an ISO-8601 time or epoch milliseconds`, [
      { field, message: 'not an ISO-8601 time or epoch milliseconds' },
    ])
  return ms
}
