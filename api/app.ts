// The API as a Fastify instance, built from its services (so tests build it against the real
// stack with per-file prefixes, and `run-api.ts` against the configuration). What every route gets
// from here: a declared access (the least role, or `public`; a route without one is refused at
// registration), bearer-token auth and role checks, rate limiting, CORS only when origins are
// configured, request and response schemas that also make the OpenAPI document (/docs), the one
// error shape, the `http_request_duration_seconds` histogram by route pattern, and request logs
// without secrets.
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { type Access, allows } from './auth/roles.js'
import type { Principal, TokenService } from './auth/tokens.js'
import type { User } from './auth/users.js'
import { ApiError, body as errorBody, errorSchema, installErrorHandlers } from './errors.js'
import { createHttpMetrics } from './http-metrics.js'
import { sharedSchemas } from './json-schema.js'
import { replayJobSchema } from './replay-jobs.js'
import { adminRoutes } from './routes/admin.js'
import { entityRoutes } from './routes/entities.js'
import { eventRoutes } from './routes/events.js'
import { graphRoutes } from './routes/graph.js'
import { systemRoutes } from './routes/system.js'
import { windowRoutes } from './routes/windows.js'
import type { ApiServices } from './services.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role that may call the route, or `public`. Required on every route. */
    access?: Access
  }
  interface FastifyRequest {
    principal?: Principal
  }
  interface FastifyInstance {
    /** Every route registered, with its declared access (`/docs` pages: public). */
    readonly routeAccess: readonly RouteAccess[]
  }
}

export interface RouteAccess {
  readonly method: string
  readonly url: string
  readonly access: Access
}

export interface ApiOptions {
  readonly tokens: TokenService
  /** Users for POST /token; undefined: no user store (POST /token answers 401 to everyone). */
  readonly users?: ReadonlyMap<string, User>
  /** Requests per minute per client; 0: no limit. */
  readonly rateLimitPerMinute: number
  /** Empty: CORS off. */
  readonly corsOrigins: readonly string[]
  /** A pino logger, or false for none (tests). */
  readonly logger: Logger | false
  /** Registry for `http_request_duration_seconds` (and where /metrics reads, with the services'). */
  readonly registry: Registry
}

export const DOCS_PREFIX = '/docs'

export async function buildApi(services: ApiServices, options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger === false
      ? { logger: false }
      : { loggerInstance: options.logger as FastifyBaseLogger }),
    // Query strings like ?capability=a&capability=b arrive as arrays where the schema says array.
    // Path parameters up to 256 characters reach the route's schema (ids are at most 200).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
    // Errors raised before a route runs (a parameter too long, a bad URL) in the one error shape.
    frameworkErrors: (error, _request, reply) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400
      const answer = errorBody(status, error.code?.replace(/^FST_ERR_/, '') ?? 'BAD_REQUEST', error.message)
      ;(reply as unknown as FastifyReply).status(status).send(answer)
    },
    ajv: {
      customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: true },
    },
    bodyLimit: 256 * 1024,
  })
  installErrorHandlers(app)
  app.addSchema(errorSchema)
  app.addSchema(replayJobSchema)
  for (const schema of sharedSchemas()) app.addSchema(schema)

  app.decorate('routeAccess', declareRouteAccess(app, options.rateLimitPerMinute > 0))

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Agent Party Streams API',
        version: '1',
        description:
          'The live state of the Agent Party platform (from the Redis read model and the Neo4j graph that the sinks keep exactly once), event ingest, and pipeline operations. Get a token at POST /token (OAuth2 password flow) and send it as `Authorization: Bearer <token>`. Roles: viewer < operator < admin.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          // The same tokens, for clients (and the docs page's Authorize button) that run the flow.
          oauth2: { type: 'oauth2', flows: { password: { tokenUrl: '/token', scopes: {} } } },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (json.$id as string) || `def-${i}` },
  })
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX })

  if (options.corsOrigins.length > 0) await app.register(cors, { origin: [...options.corsOrigins] })

  // Registered even with no global limit: POST /token keeps its own (password guessing).
  await app.register(rateLimit, {
    global: options.rateLimitPerMinute > 0,
    max: Math.max(1, options.rateLimitPerMinute),
    timeWindow: 60_000,
    // After authentication, so an authenticated client is limited per user, anyone else per address.
    hook: 'preHandler',
    keyGenerator: (request) => (request.principal ? `user:${request.principal.subject}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'RATE_LIMITED', `more than ${context.max} requests in ${context.after}; retry later`),
  })

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access
    if (access === undefined || access === 'public') return
    const principal = await options.tokens.verify(request.headers.authorization).catch((error) => {
      const status: number = error.statusCode ?? 401
      // RFC 6750: a 401 names the scheme; a 503 (the identity provider is down) is not the token's fault.
      throw new ApiError(status, error.code ?? 'TOKEN_INVALID', error.message, undefined, {
        ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
      })
    })
    if (!allows(principal.role, access))
      throw new ApiError(
        403,
        'FORBIDDEN',
        `this route needs the ${access} role or higher; the token has ${principal.role}`,
      )
    request.principal = principal
  })

  const http = createHttpMetrics(options.registry)
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL (ids would make the label unbounded).
    const endpoint = request.routeOptions.url ?? 'unmatched'
    http.observe(request.method, endpoint, reply.statusCode, reply.elapsedTime / 1000)
  })

  await app.register(systemRoutes(services, options))
  await app.register(entityRoutes(services))
  await app.register(graphRoutes(services))
  await app.register(windowRoutes(services))
  await app.register(eventRoutes(services))
  await app.register(adminRoutes(services))
  await app.ready()
  return app
}

/**
 * Makes every route declare its access: a route without `config.access` is refused when it is
 * registered (a route can never be open by omission). Adds to each route's schema the answers every
 * route may give (400 when it validates input, 401/403/503 when it needs a role, 429, 500) so that the
 * OpenAPI document lists every status code. Returns the list of routes with their access, filled as
 * routes are registered.
 */
export function declareRouteAccess(app: FastifyInstance, rateLimited: boolean): readonly RouteAccess[] {
  const declared: RouteAccess[] = []
  app.addHook('onRoute', (route) => {
    const access = route.config?.access
    for (const method of [route.method].flat())
      if (method !== 'HEAD') declared.push({ method, url: route.url, access: access ?? 'public' })
    // The docs pages, and CORS preflight answers (OPTIONS *, when origins are configured), are public.
    if (route.url.startsWith(DOCS_PREFIX) || route.method === 'OPTIONS') {
      route.config = { ...route.config, access: 'public' }
      route.schema = { ...route.schema, hide: true }
      return
    }
    if (access === undefined)
      throw new Error(
        `route ${route.method} ${route.url} declares no access (config.access: a role or 'public')`,
      )
    // The answers every route may give besides its own, so that the document lists every status code.
    const schema = route.schema ?? {}
    const validated =
      schema.body !== undefined || schema.querystring !== undefined || schema.params !== undefined
    route.schema = {
      ...schema,
      ...(access === 'public'
        ? {}
        : {
            security: [{ bearer: [] }, { oauth2: [] }],
            description: `${schema.description ?? ''}\n\nNeeds the **${access}** role or higher.`.trim(),
          }),
      response: {
        ...(validated
          ? { 400: { $ref: 'Error#', description: 'the request is not valid: `details` lists the fields' } }
          : {}),
        ...(access === 'public'
          ? {}
          : {
              401: { $ref: 'Error#', description: 'missing, expired or invalid token' },
              403: { $ref: 'Error#', description: `the token's role is below ${access}` },
              503: { $ref: 'Error#', description: 'a dependency or the identity provider does not answer' },
            }),
        ...(rateLimited || route.config?.rateLimit
          ? { 429: { $ref: 'Error#', description: 'too many requests' } }
          : {}),
        ...(schema.params !== undefined
          ? { 414: { $ref: 'Error#', description: 'a path parameter longer than 256 characters' } }
          : {}),
        ...(schema.querystring !== undefined
          ? { 431: { description: 'the request line and headers are longer than 16 KiB (no body)' } }
          : {}),
        500: { $ref: 'Error#', description: 'an unexpected error (logged)' },
        ...(schema.response as object | undefined),
      },
    }
  })
  return declared
}
