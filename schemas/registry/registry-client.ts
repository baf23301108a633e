// A small client of the Confluent-compatible Schema Registry API (Confluent, or Apicurio's ccompat/v7):
// register and look up a schema under a subject, fetch a schema by id, set and test compatibility.
// @platformatic/kafka's ConfluentSchemaRegistry only fetches schemas by id (no registration, no
// compatibility, no reader schema), so this one is fetch-based and maps every failure to SchemaError.
import { SchemaError } from '../errors.js'

export type CompatibilityLevel =
  | 'NONE'
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE'

export interface RegistryClientOptions {
  /** API base, e.g. http://127.0.0.1:8081/apis/ccompat/v7 (config.schemaRegistry.url). */
  url: string
  /** Per request, in ms. */
  timeoutMs?: number
  /** Further attempts after a retryable failure (unreachable, 408, 429, 5xx). */
  retries?: number
  retryDelayMs?: number
  headers?: Record<string, string>
  /**
   * HTTP basic auth (SCHEMA_REGISTRY_USERNAME/PASSWORD): both or neither. config.schemaRegistry
   * carries url, username and password, so `new RegistryClient(config.schemaRegistry)` is the whole
   * wiring.
   */
  username?: string | undefined
  password?: string | undefined
}

export interface RegisteredSchema {
  subject: string
  id: number
  version: number
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504])

export class RegistryClient {
  readonly url: string
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #retryDelayMs: number
  readonly #headers: Record<string, string>

  constructor(options: RegistryClientOptions) {
    if (!/^https?:\/\//.test(options.url)) {
      throw new SchemaError('REGISTRY_ERROR', `registry url must be http(s): '${options.url}'`)
    }
    this.url = options.url.replace(/\/+$/, '')
    this.#timeoutMs = options.timeoutMs ?? 5000
    this.#retries = options.retries ?? 2
    this.#retryDelayMs = options.retryDelayMs ?? 250
    if ((options.username === undefined) !== (options.password === undefined)) {
      throw new SchemaError('REGISTRY_ERROR', 'registry basic auth needs both a username and a password')
    }
    const auth: Record<string, string> = {}
    if (options.username !== undefined) {
      auth.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`
    }
    this.#headers = { ...auth, ...options.headers }
  }

  /** Registers `schema` (Avro JSON text) under `subject`, or returns its id when already there. */
  async register(subject: string, schema: string): Promise<number> {
    const body = await this.#request<{ id: number }>('POST', `/subjects/${enc(subject)}/versions`, {
      subject,
      body: { schema, schemaType: 'AVRO' },
    })
    return body.id
  }

  /** The id and version of `schema` under `subject`, or undefined when the subject does not have it. */
  async lookup(subject: string, schema: string): Promise<RegisteredSchema | undefined> {
    return this.#request<RegisteredSchema | undefined>('POST', `/subjects/${enc(subject)}`, {
      subject,
      body: { schema, schemaType: 'AVRO' },
      notFound: () => undefined,
    })
  }

  /** The schema text of a registry id; UNKNOWN_SCHEMA_ID when the registry has none. */
  async schemaById(id: number): Promise<string> {
    const body = await this.#request<{ schema: string; schemaType?: string }>('GET', `/schemas/ids/${id}`, {
      notFound: () => {
        throw new SchemaError('UNKNOWN_SCHEMA_ID', `the registry has no schema with id ${id}`, {
          schemaId: id,
        })
      },
    })
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new SchemaError('REGISTRY_ERROR', `schema ${id} is ${body.schemaType}, not AVRO`, {
        schemaId: id,
      })
    }
    return body.schema
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    await this.#request('PUT', `/config/${enc(subject)}`, { subject, body: { compatibility: level } })
  }

  /** The subject's own level, or undefined when only the global default applies. */
  async getCompatibility(subject: string): Promise<CompatibilityLevel | undefined> {
    const body = await this.#request<{
      compatibilityLevel?: CompatibilityLevel
      compatibility?: CompatibilityLevel
    }>('GET', `/config/${enc(subject)}`, { subject, notFound: () => ({}) })
    return body.compatibilityLevel ?? body.compatibility
  }

  /** The registry's default level, which applies to a subject without its own. */
  async getGlobalCompatibility(): Promise<CompatibilityLevel | undefined> {
    const body = await this.#request<{
      compatibilityLevel?: CompatibilityLevel
      compatibility?: CompatibilityLevel
    }>('GET', '/config', { notFound: () => ({}) })
    return body.compatibilityLevel ?? body.compatibility
  }

  /** The subject's latest version (id, version, schema text), or undefined when the subject has none. */
  async latest(subject: string): Promise<(RegisteredSchema & { schema: string }) | undefined> {
    return this.#request<(RegisteredSchema & { schema: string }) | undefined>(
      'GET',
      `/subjects/${enc(subject)}/versions/latest`,
      { subject, notFound: () => undefined },
    )
  }

  /** Whether `schema` could be registered next under `subject` (its compatibility level decides). */
  async isCompatible(subject: string, schema: string): Promise<boolean> {
    const body = await this.#request<{ is_compatible: boolean }>(
      'POST',
      `/compatibility/subjects/${enc(subject)}/versions/latest`,
      { subject, body: { schema, schemaType: 'AVRO' }, notFound: () => ({ is_compatible: true }) },
    )
    return body.is_compatible
  }

  /** Every subject; the readiness checks ask it (with the configured credentials). */
  async subjects(): Promise<string[]> {
    return this.#request<string[]>('GET', '/subjects', {})
  }

  async versions(subject: string): Promise<number[]> {
    return this.#request<number[]>('GET', `/subjects/${enc(subject)}/versions`, {
      subject,
      notFound: () => [],
    })
  }

  /** Deletes a subject (soft, then permanently when asked); for tests and resets. */
  async deleteSubject(subject: string, permanent = false): Promise<void> {
    await this.#request('DELETE', `/subjects/${enc(subject)}`, { subject, notFound: () => undefined })
    if (permanent) {
      await this.#request('DELETE', `/subjects/${enc(subject)}?permanent=true`, {
        subject,
        notFound: () => undefined,
      })
    }
  }

  async #request<T>(
    method: string,
    path: string,
    options: { subject?: string; body?: unknown; notFound?: () => T },
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#requestOnce(method, path, options)
      } catch (error) {
        if (!(error instanceof SchemaError) || !error.retryable || attempt >= this.#retries) throw error
        await new Promise((resolve) => setTimeout(resolve, this.#retryDelayMs * 2 ** attempt))
      }
    }
  }

  async #requestOnce<T>(
    method: string,
    path: string,
    options: { subject?: string; body?: unknown; notFound?: () => T },
  ): Promise<T> {
    const subject = options.subject === undefined ? {} : { subject: options.subject }
    let response: Response
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { accept: CONTENT_TYPE, 'content-type': CONTENT_TYPE, ...this.#headers },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
    } catch (cause) {
      throw new SchemaError(
        'REGISTRY_UNAVAILABLE',
        `${method} ${this.url}${path}: ${(cause as Error).message}`,
        {
          ...subject,
          cause,
        },
      )
    }
    const text = await response.text()
    if (response.ok) return (text === '' ? undefined : JSON.parse(text)) as T
    if (response.status === 404 && options.notFound) return options.notFound()
    const detail = `${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`
    const status = { ...subject, status: response.status }
    if (response.status === 409) throw new SchemaError('SCHEMA_INCOMPATIBLE', detail, status)
    if (response.status === 401 || response.status === 403) {
      const fix = 'check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD (or its _FILE)'
      throw new SchemaError(
        'REGISTRY_ERROR',
        `${detail} (the registry refused the credentials: ${fix})`,
        status,
      )
    }
    if (RETRYABLE_STATUSES.has(response.status)) throw new SchemaError('REGISTRY_UNAVAILABLE', detail, status)
    throw new SchemaError('REGISTRY_ERROR', detail, status)
  }
}

function enc(subject: string): string {
  return encodeURIComponent(subject)
}
