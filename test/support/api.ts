// The API in a test: started with `startApi` (the real wiring: Redis, Neo4j, Kafka, the registry,
// S3) on a free port, with a user per role and an HS256 secret, and a client that checks every
// answer against the response schema the OpenAPI document declares for its route and status
// (Fastify's response schemas shape output but do not validate it).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv, type ValidateFunction } from 'ajv'
import { expect } from 'vitest'
import type { Role } from '../../api/auth/roles.js'
import { addUser } from '../../api/auth/users.js'
import { type RunningApi, type StartApiOptions, startApi } from '../../api/run-api.js'
import { type Config, loadConfig } from '../../config/config.js'

export const TEST_SECRET = 'test-secret-of-the-api-tests-0123456789abcdef'
export const PASSWORD = 'correct horse battery staple'

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON that tests read field by field
export interface ApiResponse<T = any> {
  readonly status: number
  readonly body: T
  readonly headers: Headers
}

/** Writes a users file with `viewer`, `operator` and `admin`, each of that role. */
export async function usersFile(): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'api-users-')), 'users.json')
  for (const role of ['viewer', 'operator', 'admin'] as const) await addUser(file, role, role, PASSWORD)
  return file
}

export class TestApi {
  readonly #tokens = new Map<Role, string>()
  readonly #checker: ResponseChecker

  private constructor(
    readonly running: RunningApi,
    readonly base: string,
    readonly config: Config,
  ) {
    this.#checker = new ResponseChecker(running.app.swagger() as OpenApiDocument)
  }

  static async start(env: Record<string, string>, options: StartApiOptions = {}): Promise<TestApi> {
    const full = {
      API_JWT_SECRET: TEST_SECRET,
      API_USERS_FILE: await usersFile(),
      API_RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
      ...env,
    }
    const config = loadConfig({ ...process.env, ...full })
    const running = await startApi(config, { port: 0, host: '127.0.0.1', ...options })
    return new TestApi(running, `http://127.0.0.1:${running.port}`, config)
  }

  async token(role: Role): Promise<string> {
    let token = this.#tokens.get(role)
    if (token === undefined) {
      const response = await this.request('POST', '/token', {
        form: { grant_type: 'password', username: role, password: PASSWORD },
      })
      expect(response.status).toBe(200)
      token = response.body.access_token as string
      this.#tokens.set(role, token)
    }
    return token
  }

  /** A request as `role` (or with `token`, or none), its answer checked against the OpenAPI document. */
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON that tests read field by field
  async request<T = any>(
    method: string,
    path: string,
    options: { role?: Role; token?: string; json?: unknown; form?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {}
    const token = options.token ?? (options.role ? await this.token(options.role) : undefined)
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    let body: string | undefined
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.json)
    } else if (options.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(options.form).toString()
    }
    const response = await fetch(this.base + path, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    })
    const text = await response.text()
    const isJson = response.headers.get('content-type')?.includes('application/json')
    const parsed = isJson && text !== '' ? JSON.parse(text) : text
    this.#checker.check(method, path, response.status, parsed)
    return { status: response.status, body: parsed as T, headers: response.headers }
  }

  get routes(): { method: string; url: string }[] {
    return this.#checker.routes
  }

  close(): Promise<void> {
    return this.running.close()
  }
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema: object }> }> }>
  >
  components?: { schemas?: Record<string, object> }
}

/** Validates an answer against the document's schema for (route, status); fails the test otherwise. */
export class ResponseChecker {
  readonly #ajv: Ajv
  readonly #document: OpenApiDocument
  readonly #compiled = new Map<string, ValidateFunction>()

  constructor(document: OpenApiDocument) {
    this.#document = document
    this.#ajv = new Ajv({ strict: false, allErrors: true })
    this.#ajv.addSchema({ components: document.components ?? {} }, 'doc')
  }

  get routes(): { method: string; url: string }[] {
    return Object.entries(this.#document.paths).flatMap(([url, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), url })),
    )
  }

  check(method: string, path: string, status: number, body: unknown): void {
    const route = this.#match(path.split('?')[0] as string, method.toLowerCase())
    if (route === undefined) return // not in the document: /docs pages
    const response = route.operation.responses?.[String(status)]
    expect(response, `${method} ${path} answered ${status}, which its route does not declare`).toBeDefined()
    const schema =
      response?.content?.['application/json']?.schema ?? response?.content?.['text/plain']?.schema
    if (schema === undefined) return
    const key = `${route.url} ${method} ${status}`
    let validate = this.#compiled.get(key)
    if (validate === undefined) {
      validate = this.#ajv.compile(rewriteRefs(schema) as object)
      this.#compiled.set(key, validate)
    }
    const valid = validate(body)
    expect(
      valid,
      `${method} ${path} ${status}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
    ).toBe(true)
  }

  #match(path: string, method: string) {
    for (const [url, methods] of Object.entries(this.#document.paths)) {
      const pattern = new RegExp(`^${url.replace(/\{[^}]+\}/g, '[^/]+')}/?$`)
      const operation = methods[method]
      if (operation && pattern.test(path)) return { url, operation }
    }
    return undefined
  }
}

/** `#/components/schemas/X` refs point into the document added as `doc`. */
function rewriteRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rewriteRefs)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema))
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `doc${v}` : rewriteRefs(v)
  return out
}
