// Public operations routes (/health, /ready, /metrics, POST /token) and the topology description.
import type { FastifyPluginAsync } from 'fastify'
import type { ApiOptions } from '../app.js'
import { DUMMY_HASH, verifyPassword } from '../auth/passwords.js'
import { body, errorSchema, messageOf } from '../errors.js'
import type { ApiServices, DependencyName } from '../services.js'

const READY_TIMEOUT_MS = 3000

const { $id: _, ...errorShape } = errorSchema as { $id: string; properties: object; required: string[] }

const dependencyStates = {
  type: 'object',
  description: '`up`, or `down: <reason>`, per dependency',
  additionalProperties: { type: 'string' },
}

export function systemRoutes(services: ApiServices, options: ApiOptions): FastifyPluginAsync {
  return async (app) => {
    // OAuth2's password grant posts a form (RFC 6749 4.3.2); JSON is accepted too.
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, text, done) => {
        done(null, Object.fromEntries(new URLSearchParams(text as string)))
      },
    )

    app.get(
      '/health',
      {
        config: { access: 'public' },
        schema: {
          tags: ['operations'],
          summary: 'Liveness: the process serves',
          response: {
            200: {
              type: 'object',
              properties: { status: { type: 'string', enum: ['ok'] } },
              required: ['status'],
            },
          },
        },
      },
      async () => ({ status: 'ok' as const }),
    )

    app.get(
      '/ready',
      {
        config: { access: 'public' },
        schema: {
          tags: ['operations'],
          summary: 'Readiness: Kafka, Neo4j, Redis, S3 and the registry answer',
          description: `Each dependency is asked at once, with a ${READY_TIMEOUT_MS / 1000} s limit. 503 names the ones that do not answer.`,
          response: {
            200: {
              type: 'object',
              properties: { status: { type: 'string', enum: ['ready'] }, dependencies: dependencyStates },
              required: ['status', 'dependencies'],
            },
            503: {
              ...errorShape,
              properties: { ...errorShape.properties, dependencies: dependencyStates },
              required: [...errorShape.required, 'dependencies'],
            },
          },
        },
      },
      async (_request, reply) => {
        const results = await Promise.all(
          services.checks.map(async ({ name, check }) => {
            try {
              await withTimeout(check(), READY_TIMEOUT_MS, name)
              return { name, error: undefined }
            } catch (error) {
              return { name, error: messageOf(error) }
            }
          }),
        )
        const dependencies: Partial<Record<DependencyName, string>> = {}
        for (const r of results) dependencies[r.name] = r.error === undefined ? 'up' : `down: ${r.error}`
        const down = results.filter((r) => r.error !== undefined)
        if (down.length === 0) return { status: 'ready' as const, dependencies }
        return reply.status(503).send({
          ...body(
            503,
            'NOT_READY',
            `not ready: ${down.map((d) => d.name).join(', ')} not answering`,
            down.map((d) => ({ field: d.name, message: d.error as string })),
          ),
          dependencies,
        })
      },
    )

    app.get(
      '/metrics',
      {
        config: { access: 'public' },
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics (text exposition format)',
          produces: ['text/plain'],
          response: { 200: { type: 'string' } },
        },
      },
      async (_request, reply) => {
        const text = await options.registry.metrics()
        return reply.type(options.registry.contentType).send(text)
      },
    )

    app.post(
      '/token',
      {
        config: { access: 'public', rateLimit: { max: 30, timeWindow: 60_000 } },
        schema: {
          tags: ['auth'],
          summary: 'OAuth2 password grant: a bearer token for a user of the store',
          description:
            'Form-encoded (`application/x-www-form-urlencoded`, as OAuth2 clients send it) or JSON. A wrong user or password answers 400 `invalid_grant` as RFC 6749 5.2 says, with the same message for both. At most 30 attempts per minute per address.',
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: {
            type: 'object',
            properties: {
              grant_type: { type: 'string', enum: ['password'] },
              username: { type: 'string', minLength: 1, maxLength: 64 },
              password: { type: 'string', minLength: 1, maxLength: 1024 },
              scope: { type: 'string' },
            },
            required: ['grant_type', 'username', 'password'],
          },
          response: {
            200: {
              type: 'object',
              properties: {
                access_token: { type: 'string' },
                token_type: { type: 'string', enum: ['bearer'] },
                expires_in: { type: 'integer' },
                role: { type: 'string' },
              },
              required: ['access_token', 'token_type', 'expires_in'],
            },
            400: {
              ...errorShape,
              properties: {
                ...errorShape.properties,
                error: { type: 'string' },
                error_description: { type: 'string' },
              },
            },
          },
        },
      },
      async (request, reply) => {
        const { username, password } = request.body as { username: string; password: string }
        const user = options.users?.get(username)
        // An unknown user costs a hash too, so the answer's timing does not tell who exists.
        const valid = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH)
        if (!user || !valid || !options.tokens.canIssue) {
          const message = options.tokens.canIssue
            ? 'wrong username or password'
            : 'this API issues no tokens: it checks tokens of an identity provider (API_JWT_JWKS_URL)'
          return reply.status(400).send({
            ...body(400, 'INVALID_GRANT', message),
            error: 'invalid_grant',
            error_description: message,
          })
        }
        request.log.info({ user: user.username, role: user.role }, 'token issued')
        return { ...(await options.tokens.issue(user.username, user.role)), role: user.role }
      },
    )

    app.get(
      '/topology',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['topology'],
          summary: "The processors' topology: sub-topologies, processors, stores and topics",
          querystring: {
            type: 'object',
            properties: { format: { type: 'string', enum: ['text', 'mermaid'], default: 'text' } },
            additionalProperties: false,
          },
          response: {
            200: {
              type: 'object',
              properties: { format: { type: 'string' }, topology: { type: 'string' } },
              required: ['format', 'topology'],
            },
          },
        },
      },
      async (request) => {
        const { format } = request.query as { format: 'text' | 'mermaid' }
        return { format, topology: format === 'mermaid' ? services.topology.mermaid : services.topology.text }
      },
    )
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
