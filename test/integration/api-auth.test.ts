// The API's access rules and operations surface against the real stack: every route with every role
// (allowed or refused as declared), bad tokens, rate limits, CORS, request logs without secrets,
// /ready when each dependency does not answer, the README's route and metric tables, and the CLI's
// `run api` (serves, stops on SIGTERM, refuses a configuration without a token key).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { SignJWT } from 'jose'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Access, Role } from '../../api/auth/roles.js'
import { allows, ROLES } from '../../api/auth/roles.js'
import { TEST_SECRET, TestApi, usersFile } from '../support/api.js'
import { captureLogs } from '../support/log-capture.js'
import { stackEnv, testPrefix } from '../support/stack-env.js'
import { StreamsProcess } from '../support/streams-process.js'

const prefix = testPrefix(import.meta.url)
const env = { ...stackEnv(), REDIS_KEY_PREFIX: `${prefix}:`, LAG_GROUPS: '', LOG_LEVEL: 'warn' }
let api: TestApi

beforeAll(async () => {
  api = await TestApi.start(env, { lag: false })
}, 60_000)

afterAll(async () => {
  await api?.close()
})

/** A request that reaches the handler without side effects: path parameters filled, bodies invalid. */
function requestFor(method: string, url: string): { path: string; json?: unknown } {
  const path = url
    .replace(':output', 'agent_instantiations')
    .replace(/:[a-z_]+/g, 'x')
    .concat(url === '/windows/:output' ? '?group=x' : url === '/graph/idle-agents' ? '?capability=x' : '')
  if (method !== 'POST') return { path }
  // Bodies the route refuses with 400 before doing anything (a reset must not run here).
  return { path, json: url === '/admin/reset' ? { sinks: ['no-such-sink'] } : {} }
}

describe('roles', () => {
  it('allows and refuses every route as it declares, for no token and each role', async () => {
    const routes = api.running.app.routeAccess.filter((r) => !r.url.startsWith('/docs'))
    expect(routes.length).toBeGreaterThan(15)
    // The OpenAPI document lists exactly the declared routes.
    const documented = api.routes.map((r) => `${r.method} ${r.url}`).sort()
    const declared = routes.map((r) => `${r.method} ${r.url.replace(/:([a-z_]+)/g, '{$1}')}`).sort()
    expect(documented).toEqual(declared)
    const failures: string[] = []
    for (const route of routes) {
      const { path, json } = requestFor(route.method, route.url)
      for (const caller of [undefined, ...ROLES] as (Role | undefined)[]) {
        const got = await api.request(route.method, path, { ...(caller ? { role: caller } : {}), json })
        const expected = expectation(route.access, caller)
        const ok =
          expected === 'allowed'
            ? got.status !== 401 && got.status !== 403 && got.status < 500
            : got.status === expected
        if (!ok)
          failures.push(
            `${route.method} ${path} as ${caller ?? 'nobody'}: ${got.status}, expected ${expected}`,
          )
        if (got.status === 401) expect(got.headers.get('www-authenticate')).toBe('Bearer')
      }
    }
    expect(failures).toEqual([])
  }, 60_000)
})

function expectation(access: Access, caller: Role | undefined): 'allowed' | 401 | 403 {
  if (access === 'public') return 'allowed'
  if (caller === undefined) return 401
  return allows(caller, access) ? 'allowed' : 403
}

describe('bad tokens', () => {
  const sign = (claims: Record<string, unknown>, secret = TEST_SECRET) =>
    new SignJWT({ role: 'admin', ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setIssuer((claims.iss as string) ?? api.config.api.jwt.issuer)
      .setAudience(api.config.api.jwt.audience)
      .setExpirationTime((claims.exp as number) ?? '1h')
      .sign(new TextEncoder().encode(secret))

  it('refuses expired, forged, unsigned and foreign tokens with 401 and the reason', async () => {
    const unsigned = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
      Buffer.from(
        JSON.stringify({
          sub: 'mallory',
          role: 'admin',
          iss: api.config.api.jwt.issuer,
          aud: api.config.api.jwt.audience,
          exp: 9_999_999_999,
        }),
      ).toString('base64url'),
      '',
    ].join('.')
    const cases: [string, string, string][] = [
      ['expired', await sign({ exp: Math.floor(Date.now() / 1000) - 60 }), 'TOKEN_EXPIRED'],
      ['wrong signature', await sign({}, 'another-secret-of-enough-length-0123456789'), 'TOKEN_INVALID'],
      ['alg none', unsigned, 'TOKEN_INVALID'],
      ['wrong issuer', await sign({ iss: 'https://evil.example.com' }), 'TOKEN_INVALID'],
      ['not a JWT', 'abc.def', 'TOKEN_INVALID'],
    ]
    for (const [what, token, code] of cases) {
      const got = await api.request('GET', '/agents/x', { token })
      expect({ what, status: got.status, code: got.body.code }).toEqual({ what, status: 401, code })
    }
    const good = await api.request('GET', '/agents/x', { token: await sign({}) })
    expect(good.status).toBe(404)
  })

  it('answers a wrong password with the OAuth2 invalid_grant error, the same for an unknown user', async () => {
    const wrong = await api.request('POST', '/token', {
      form: { grant_type: 'password', username: 'admin', password: 'not the password' },
    })
    const unknown = await api.request('POST', '/token', {
      form: { grant_type: 'password', username: 'nobody', password: 'not the password' },
    })
    for (const got of [wrong, unknown]) {
      expect(got.status).toBe(400)
      expect(got.body).toMatchObject({ code: 'INVALID_GRANT', error: 'invalid_grant' })
    }
    expect(wrong.body.message).toBe(unknown.body.message)
  })
})

describe('limits, CORS and logs', () => {
  it('limits requests per user and per address, with 429 in the error shape', async () => {
    const limited = await TestApi.start({ ...env, API_RATE_LIMIT_PER_MINUTE: '5' }, { lag: false })
    try {
      const viewer = await limited.token('viewer')
      const statuses: number[] = []
      for (let i = 0; i < 6; i++)
        statuses.push((await limited.request('GET', '/agents/x', { token: viewer })).status)
      expect(statuses).toEqual([404, 404, 404, 404, 404, 429])
      const last = await limited.request('GET', '/agents/x', { token: viewer })
      expect(last.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' })
      // Another user has a budget of its own.
      expect((await limited.request('GET', '/agents/x', { role: 'operator' })).status).toBe(404)
    } finally {
      await limited.close()
    }
  })

  it('sends no CORS headers unless origins are configured', async () => {
    const origin = 'https://dash.example.com'
    const plain = await fetch(`${api.base}/health`, { headers: { origin } })
    expect(plain.headers.get('access-control-allow-origin')).toBeNull()
    const withCors = await TestApi.start({ ...env, API_CORS_ORIGINS: origin }, { lag: false })
    try {
      const got = await fetch(`${withCors.base}/health`, { headers: { origin } })
      expect(got.headers.get('access-control-allow-origin')).toBe(origin)
      const other = await fetch(`${withCors.base}/health`, {
        headers: { origin: 'https://evil.example.com' },
      })
      expect(other.headers.get('access-control-allow-origin')).toBeNull()
    } finally {
      await withCors.close()
    }
  })

  it('logs requests without the token or the password', async () => {
    const logs = captureLogs()
    const logged = await TestApi.start(
      { ...env, LOG_LEVEL: 'info' },
      { lag: false, logger: pino({ level: 'info' }, logs.destination) },
    )
    try {
      const token = await logged.token('viewer')
      await logged.request('GET', '/agents/x', { token })
      const text = logs.text()
      expect(text).toContain('/agents/x')
      expect(text).not.toContain(token)
      expect(text).not.toContain('correct horse battery staple')
    } finally {
      await logged.close()
    }
  })
})

describe('/ready', () => {
  const unreachable: [string, Record<string, string>][] = [
    ['kafka', { KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1' }],
    ['neo4j', { NEO4J_URI: 'bolt://127.0.0.1:1' }],
    ['redis', { REDIS_URL: 'redis://127.0.0.1:1' }],
    ['s3', { S3_ENDPOINT: 'http://127.0.0.1:1' }],
    ['registry', { SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1/apis/ccompat/v7' }],
  ]

  it('is ready when every dependency answers', async () => {
    const got = await api.request('GET', '/ready')
    expect(got.status).toBe(200)
    expect(got.body.dependencies).toEqual({ kafka: 'up', neo4j: 'up', redis: 'up', s3: 'up', registry: 'up' })
  })

  for (const [name, overrides] of unreachable)
    it(`answers 503 naming ${name} when it does not answer, the others up; /health stays 200`, async () => {
      const broken = await TestApi.start({ ...env, ...overrides }, { lag: false })
      try {
        const got = await broken.request('GET', '/ready')
        expect(got.status).toBe(503)
        expect(got.body.code).toBe('NOT_READY')
        expect(got.body.details.map((d: { field: string }) => d.field)).toEqual([name])
        for (const [other, state] of Object.entries(got.body.dependencies))
          expect([other, String(state).startsWith(other === name ? 'down: ' : 'up')]).toEqual([other, true])
        expect((await broken.request('GET', '/health')).status).toBe(200)
      } finally {
        await broken.close()
      }
    }, 30_000)
})

describe('docs', () => {
  it('api/README.md lists every route with its declared role, and every metric the API exports', async () => {
    const readme = readFileSync(new URL('../../api/README.md', import.meta.url), 'utf8')
    const routes = readme.slice(readme.indexOf('## Routes'), readme.indexOf('### Posting events'))
    const documented = [
      ...routes.matchAll(/^\| `(GET|POST) ([^`?]+)[^`]*`(?:, `(GET) ([^`]+)`)? \| (\w+) \|/gm),
    ].flatMap((m) =>
      [[m[1], m[2]], ...(m[3] ? [[m[3], m[4]]] : [])].map(([method, path]) => `${method} ${path} ${m[5]}`),
    )
    const declared = api.running.app.routeAccess
      .filter((r) => r.url === '/docs' || r.url === '/docs/json' || !r.url.startsWith('/docs'))
      .map((r) => `${r.method} ${r.url.replace(/:([a-z_]+)/g, '{$1}')} ${r.access}`)
    expect([...new Set(documented)].sort()).toEqual([...new Set(declared)].sort())

    const metrics = readme.slice(readme.indexOf('## Metrics'), readme.indexOf('## Shutdown'))
    const names = [...metrics.matchAll(/`([a-z0-9_]+)`(?=[^|]*\|[^|]*\|[^|]*\|$)/gm)].map((m) => m[1])
    // With the lag exporter, as `agent-party run api` runs.
    const full = await TestApi.start(env)
    try {
      const exported = (await full.running.registry.getMetricsAsJSON())
        .map((m) => m.name)
        .filter((n) => !/^(process_|nodejs_)/.test(n))
      expect([...new Set(names)].sort()).toEqual(exported.sort())
    } finally {
      await full.close()
    }
  })
})

describe('agent-party run api', () => {
  it('serves until SIGTERM, then finishes and exits 0; a missing token key is a configuration error', async () => {
    const cli = fileURLToPath(new URL('../../cli/main.ts', import.meta.url))
    const processEnv = {
      ...env,
      API_PORT: '0',
      API_HOST: '127.0.0.1',
      API_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info',
    }
    const api = new StreamsProcess({ ...processEnv, API_USERS_FILE: await usersFile() }, cli, ['run', 'api'])
    try {
      await api.waitForLine(/"msg":"api started"/)
      const started = JSON.parse(api.lines.find((l) => l.includes('"api started"')) as string)
      const health = await fetch(`http://127.0.0.1:${started.port}/health`)
      expect(await health.json()).toEqual({ status: 'ok' })
      const docs = await fetch(`http://127.0.0.1:${started.port}/docs`)
      expect(docs.status).toBe(200)
      expect(docs.headers.get('content-type')).toContain('text/html')
    } finally {
      expect(await api.kill('SIGTERM')).toBe(0)
    }
    const misconfigured = new StreamsProcess({ ...processEnv, API_JWT_SECRET: '' }, cli, ['run', 'api'])
    expect(await misconfigured.exited).toBe(3)
    expect(misconfigured.lines.join('\n')).toMatch(/API_JWT_SECRET: no way to check tokens is configured/)
  }, 60_000)
})
