// The client's mapping of HTTP answers to typed errors, against a throwaway local HTTP server (the
// real registry's behaviour is covered by test/integration/schemas).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RegistryClient } from '../../../../schemas/index.js'

let server: Server
let url: string
const answers: { status: number; body: string }[] = []
const requests: { method: string; url: string; body: string }[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body })
      const answer = answers.shift() ?? { status: 500, body: 'no answer queued' }
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7/`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const client = () => new RegistryClient({ url, retries: 2, retryDelayMs: 1 })
const reply = (...list: [number, unknown][]) => {
  answers.length = 0
  requests.length = 0
  for (const [status, body] of list) answers.push({ status, body: JSON.stringify(body) })
}

describe('RegistryClient', () => {
  it('registers under the subject, URL-encoded, with schemaType AVRO', async () => {
    reply([200, { id: 7 }])
    expect(await client().register('a/b-value', '"string"')).toBe(7)
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/apis/ccompat/v7/subjects/a%2Fb-value/versions',
    })
    expect(JSON.parse(requests[0]?.body ?? '')).toEqual({ schema: '"string"', schemaType: 'AVRO' })
  })

  it('maps 409 to SCHEMA_INCOMPATIBLE with the subject and status', async () => {
    reply([409, { error_code: 409, message: 'incompatible' }])
    await expect(client().register('s-value', '"int"')).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      retryable: false,
      details: { subject: 's-value', status: 409 },
    })
  })

  it('retries 503 and succeeds, or gives up with the retryable REGISTRY_UNAVAILABLE', async () => {
    reply([503, {}], [200, { schema: '"string"' }])
    expect(await client().schemaById(3)).toBe('"string"')
    reply([503, {}], [502, {}], [504, {}])
    await expect(client().schemaById(3)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retryable: true,
    })
    expect(requests).toHaveLength(3)
  })

  it('answers 404 by id with UNKNOWN_SCHEMA_ID, a 404 lookup with undefined', async () => {
    reply([404, { error_code: 40403 }])
    await expect(client().schemaById(99)).rejects.toMatchObject({
      code: 'UNKNOWN_SCHEMA_ID',
      details: { schemaId: 99 },
    })
    reply([404, { error_code: 40401 }])
    expect(await client().lookup('s-value', '"int"')).toBeUndefined()
  })

  it('maps an unreachable registry to REGISTRY_UNAVAILABLE', async () => {
    const dead = new RegistryClient({ url: 'http://127.0.0.1:1', retries: 0 })
    await expect(dead.versions('x')).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' })
  })

  it('refuses a non-http URL at construction', () => {
    expect(() => new RegistryClient({ url: 'ftp://x' })).toThrow(/http/)
  })
})
