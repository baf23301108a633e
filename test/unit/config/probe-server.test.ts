import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createMetrics, Registry } from '../../../config/metrics.js'
import { ProbeServer, type ProbeServerOptions, type Readiness } from '../../../config/probe-server.js'

const servers: ProbeServer[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function serve(options: Partial<ProbeServerOptions> = {}) {
  const server = new ProbeServer({ registry: options.registry ?? createMetrics().registry, ...options })
  servers.push(server)
  const port = await server.start(0, '127.0.0.1')
  return { server, url: (path: string) => `http://127.0.0.1:${port}${path}` }
}

describe('probe server', () => {
  it('starts on port 0 and reports the bound port', async () => {
    const { server } = await serve()
    expect(server.port).toBeGreaterThan(0)
    await expect(server.start(0, '127.0.0.1')).rejects.toThrow(/already started/)
  })

  it('GET /metrics serves the registry in the Prometheus text format', async () => {
    const metrics = createMetrics()
    metrics.streams.deadLetter('DESERIALIZATION_FAILED')
    const { url } = await serve({ registry: metrics.registry })
    const res = await fetch(url('/metrics'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const body = await res.text()
    expect(body).toContain('# TYPE agent_party_streams_dead_letters_total counter')
    expect(body).toContain('agent_party_streams_dead_letters_total{code="DESERIALIZATION_FAILED"} 1')
  })

  it('GET /health answers ok', async () => {
    const { url } = await serve({ ready: () => ({ ready: false }) })
    const res = await fetch(url('/health'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('GET /ready follows the callback, sync or async', async () => {
    let state: Readiness = { ready: false, reasons: ['restoring 2 tasks', 'no assignment'] }
    const { url } = await serve({ ready: async () => state })
    let res = await fetch(url('/ready'))
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'not ready', reasons: ['restoring 2 tasks', 'no assignment'] })
    state = { ready: true }
    res = await fetch(url('/ready'))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ready' })

    const sync = await serve({ ready: () => ({ ready: false }) })
    res = await fetch(sync.url('/ready'))
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'not ready', reasons: [] })
  })

  it('without a callback it is ready', async () => {
    const { url } = await serve()
    expect((await fetch(url('/ready'))).status).toBe(200)
  })

  it('a throwing, rejecting or hanging ready callback answers 503 with the error, never 500', async () => {
    const throwing = await serve({
      ready: () => {
        throw new Error('kafka unreachable')
      },
    })
    let res = await fetch(throwing.url('/ready'))
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'not ready', reasons: ['kafka unreachable'] })

    const rejecting = await serve({ ready: () => Promise.reject(new Error('store closed')) })
    res = await fetch(rejecting.url('/ready'))
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'not ready', reasons: ['store closed'] })

    const hanging = await serve({ ready: () => new Promise<Readiness>(() => {}), readyTimeoutMs: 50 })
    res = await fetch(hanging.url('/ready'))
    expect(res.status).toBe(503)
    expect(((await res.json()) as { reasons: string[] }).reasons[0]).toMatch(/timed out after 50 ms/)

    const garbage = await serve({ ready: () => undefined as unknown as Readiness })
    res = await fetch(garbage.url('/ready'))
    expect(res.status).toBe(503)
  })

  it('a failing metrics collection answers 503, not 500', async () => {
    const registry = new Registry()
    const { Gauge } = await import('prom-client')
    new Gauge({
      name: 'broken',
      help: 'collect throws',
      registers: [registry],
      collect() {
        throw new Error('collector failed')
      },
    })
    const { url } = await serve({ registry })
    const res = await fetch(url('/metrics'))
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'error', error: 'collector failed' })
  })

  it('404 for other paths, 405 for other methods; query strings are ignored', async () => {
    const { url } = await serve()
    expect((await fetch(url('/'))).status).toBe(404)
    expect((await fetch(url('/metrics/extra'))).status).toBe(404)
    expect((await fetch(url('/health?probe=1'))).status).toBe(200)
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(url('/metrics'), { method })
      expect(res.status).toBe(405)
      expect(res.headers.get('allow')).toBe('GET, HEAD')
    }
    const head = await fetch(url('/health'), { method: 'HEAD' })
    expect(head.status).toBe(200)
  })

  it('close() ends keep-alive connections and frees the port; close twice is fine', async () => {
    const server = new ProbeServer({ registry: new Registry() })
    const port = await server.start(0, '127.0.0.1')
    // A kept-alive connection must not hold close() open.
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/health', agent: false, headers: { connection: 'keep-alive' } },
        (res) => {
          res.resume()
          res.on('end', resolve)
        },
      )
      req.on('error', reject)
      req.end()
    })
    await server.close()
    await server.close()
    expect(server.port).toBeUndefined()
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow()
  })
})
