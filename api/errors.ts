// The one shape of every error the API answers: `{ statusCode, code, message, details? }`, with a
// stable upper-case `code` a client can branch on and a message a person can act on. Request
// validation lists each invalid field; a dependency that does not answer is a 503 naming it; an
// unexpected error is a 500 that logs the cause and shows no internals.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { JsonSchema } from './json-schema.js'

export interface FieldProblem {
  readonly field: string
  readonly message: string
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: readonly FieldProblem[],
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** A dependency (Neo4j, Redis, Kafka, the registry) that did not answer: 503 with its name. */
export class DependencyError extends ApiError {
  constructor(dependency: string, cause: unknown) {
    super(503, 'DEPENDENCY_UNAVAILABLE', `${dependency} is not available now: ${messageOf(cause)}`)
    this.cause = cause
  }
}

export const errorSchema: JsonSchema = {
  $id: 'Error',
  type: 'object',
  description: 'Every error: an HTTP status, a stable code and a message; `details` lists invalid fields.',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    message: { type: 'string' },
    details: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, message: { type: 'string' } },
        required: ['field', 'message'],
      },
    },
  },
  required: ['statusCode', 'code', 'message'],
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Runs a read against a dependency, turning its failure into a 503 that names it. */
export async function fromDependency<T>(dependency: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof ApiError) throw error
    throw new DependencyError(dependency, error)
  }
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) {
      if (error.statusCode >= 500) request.log.warn({ err: error.cause ?? error }, error.message)
      if (error.headers) reply.headers(error.headers)
      return reply
        .status(error.statusCode)
        .send(body(error.statusCode, error.code, error.message, error.details))
    }
    const fastifyError = error as FastifyError
    if (fastifyError.validation) {
      const details = fastifyError.validation.map((v) => ({
        field: fieldOf(fastifyError.validationContext, v.instancePath, v.params),
        message: v.message ?? 'is not valid',
      }))
      return reply
        .status(400)
        .send(
          body(
            400,
            'VALIDATION_FAILED',
            `the request's ${fastifyError.validationContext ?? 'input'} is not valid`,
            details,
          ),
        )
    }
    const status = fastifyError.statusCode
    if (status !== undefined && status >= 400 && status < 500) {
      if (status === 429) return reply.status(429).send(body(429, 'RATE_LIMITED', fastifyError.message))
      const code = fastifyError.code?.replace(/^FST_ERR_/, '') || 'BAD_REQUEST'
      return reply.status(status).send(body(status, code, fastifyError.message))
    }
    request.log.error({ err: error }, 'unexpected error')
    return reply.status(500).send(body(500, 'INTERNAL', 'an unexpected error occurred; it is logged'))
  })
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(body(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  )
}

export function body(statusCode: number, code: string, message: string, details?: readonly FieldProblem[]) {
  return { statusCode, code, message, ...(details && details.length > 0 ? { details } : {}) }
}

function fieldOf(context: string | undefined, path: string, params: Record<string, unknown>): string {
  const base = path.replace(/^\//, '').replace(/\//g, '.')
  const missing = typeof params.missingProperty === 'string' ? params.missingProperty : undefined
  const extra = typeof params.additionalProperty === 'string' ? params.additionalProperty : undefined
  const leaf = missing ?? extra
  const field = [base, leaf].filter((s) => s !== undefined && s !== '').join('.')
  return field === '' ? (context ?? 'body') : field
}
