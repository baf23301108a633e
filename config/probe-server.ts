// The probe server every running process serves (processor, sinks; the API serves the same routes in
// Fastify): GET /metrics for Prometheus, GET /health for liveness (the process serves), GET /ready for
// readiness (a callback says whether tasks run and restore is done). node:http only; never a 500: a
// failing readiness callback or metrics collection answers 503 with the error message.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'

export interface Readiness {
  readonly ready: boolean
  /** What is not ready (shown in the 503 body). */
  readonly reasons?: readonly string[]
}

export interface ProbeServerOptions {
  readonly registry: Registry
  /** Asked on every GET /ready. Default: always ready. */
  readonly ready?: () => Readiness | Promise<Readiness>
  /** A readiness callback slower than this answers 503. Default 5 s. */
  readonly readyTimeoutMs?: number
}

const JSON_TYPE = 'application/json; charset=utf-8'
const ROUTES = new Set(['/metrics', '/health', '/ready'])

export class ProbeServer {
  readonly #registry: Registry
  readonly #ready: () => Readiness | Promise<Readiness>
  readonly #readyTimeoutMs: number
  #server: Server | undefined
  #port: number | undefined

  constructor(options: ProbeServerOptions) {
    this.#registry = options.registry
    this.#ready = options.ready ?? (() => ({ ready: true }))
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 5000
  }

  /** The bound port once started (the one the OS chose for port 0). */
  get port(): number | undefined {
    return this.#port
  }

  /** Listens on `port` (0: any free port) and resolves with the bound port. */
  async start(port: number, host = '0.0.0.0'): Promise<number> {
    if (this.#server !== undefined) throw new Error('probe server already started')
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error) => {
        if (!res.headersSent) send(res, 503, JSON_TYPE, json({ status: 'error', error: message(error) }))
        else res.destroy()
      })
    })
    this.#server = server
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      this.#server = undefined
      throw error
    }
    this.#port = (server.address() as AddressInfo).port
    return this.#port
  }

  /** Stops listening and closes open connections (keep-alive ones included). */
  async close(): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    this.#port = undefined
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error === undefined ? resolve() : reject(error)))
      server.closeAllConnections()
    })
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] as string
    if (!ROUTES.has(path)) return send(res, 404, JSON_TYPE, json({ status: 'not found', path }))
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return send(res, 405, JSON_TYPE, json({ status: 'method not allowed', method: req.method }))
    }
    if (path === '/health') return send(res, 200, JSON_TYPE, json({ status: 'ok' }))
    if (path === '/metrics') {
      let text: string
      try {
        text = await this.#registry.metrics()
      } catch (error) {
        return send(res, 503, JSON_TYPE, json({ status: 'error', error: message(error) }))
      }
      return send(res, 200, this.#registry.contentType, text)
    }
    let state: Readiness
    try {
      state = await this.#askReady()
    } catch (error) {
      return send(res, 503, JSON_TYPE, json({ status: 'not ready', reasons: [message(error)] }))
    }
    if (state?.ready === true) return send(res, 200, JSON_TYPE, json({ status: 'ready' }))
    return send(res, 503, JSON_TYPE, json({ status: 'not ready', reasons: [...(state?.reasons ?? [])] }))
  }

  async #askReady(): Promise<Readiness> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`readiness check timed out after ${this.#readyTimeoutMs} ms`)),
        this.#readyTimeoutMs,
      )
    })
    try {
      return await Promise.race([Promise.resolve().then(() => this.#ready()), timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function json(body: unknown): string {
  return JSON.stringify(body)
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
