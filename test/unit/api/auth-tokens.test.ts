// Bearer tokens of the API (TokenService): configuration refused with the variable named, tokens the
// API issues (HS256 with a secret, RS256 with a private key file) verified, tokens of an identity
// provider checked against its JWKS (a real local HTTP endpoint), and every kind of bad token refused
// with the AuthError code (401, or 503 when the provider's keys cannot be fetched) the API answers.
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt, decodeProtectedHeader, exportJWK, type JWTPayload, SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { AuthError, type AuthErrorCode, TokenService } from '../../../api/auth/tokens.js'
import { type Config, ConfigError, loadConfig } from '../../../config/config.js'

type JwtConfig = Config['api']['jwt']

const SECRET = 'a-local-hs256-secret-of-at-least-32-characters'
const DEFAULTS = loadConfig({}).api.jwt
const ISSUER = DEFAULTS.issuer
const AUDIENCE = DEFAULTS.audience
const jwtConfig = (overrides: Partial<JwtConfig>): JwtConfig => ({ ...DEFAULTS, ...overrides })

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)

/** A token with the claims the API requires, minus `omit`, plus `claims`, signed by `sign`. */
function claims(extra: JWTPayload = {}, omit: string[] = []): JWTPayload {
  const all: JWTPayload = {
    sub: 'alice',
    role: 'operator',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + 300,
    ...extra,
  }
  for (const name of omit) delete all[name]
  return all
}

function hs256(payload: JWTPayload, secret: string | Uint8Array = SECRET): Promise<string> {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key)
}

function rs256(payload: JWTPayload, key: KeyObject, kid?: string): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(kid ? { kid } : {}) })
    .sign(key)
}

/** Expects `promise` to fail with an AuthError of `code`, and returns its message. */
async function refused(promise: Promise<unknown>, code: AuthErrorCode): Promise<string> {
  const error = await promise.then(
    (value) => {
      throw new Error(`accepted: ${JSON.stringify(value)}`)
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AuthError)
  expect((error as AuthError).code).toBe(code)
  expect((error as AuthError).statusCode).toBe(code === 'AUTH_UNAVAILABLE' ? 503 : 401)
  return (error as AuthError).message
}

async function configError(jwt: JwtConfig): Promise<ConfigError> {
  const error = await TokenService.create(jwt).then(
    () => {
      throw new Error('TokenService.create accepted the configuration')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ConfigError)
  return error as ConfigError
}

let dir: string
let keyFile: string
let rsa: { privateKey: KeyObject; publicKey: KeyObject }

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'auth-tokens-'))
  rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  keyFile = join(dir, 'api-key.pem')
  writeFileSync(keyFile, rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }))
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

afterEach(() => {
  vi.useRealTimers()
})

describe('TokenService.create', () => {
  it('refuses a configuration with no way to check tokens, naming API_JWT_SECRET', async () => {
    const error = await configError(
      jwtConfig({ secret: undefined, privateKeyFile: undefined, jwksUrl: undefined }),
    )
    expect(error.issues.map((i) => i.variable)).toEqual(['API_JWT_SECRET'])
    expect(error.message).toContain('API_JWT_SECRET')
    expect(error.message).toContain('API_JWT_JWKS_URL')
  })

  const write = (name: string, text: string | Buffer) => {
    const file = join(dir, name)
    writeFileSync(file, text)
    return file
  }
  const badKeys: [string, () => string][] = [
    ['a missing file', () => join(dir, 'no-such-key.pem')],
    ['an empty file', () => write('empty.pem', '')],
    ['text that is no key', () => write('text.pem', 'not a key\n')],
    ['a public key', () => write('public.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }))],
    [
      'an RSA key in PKCS#1, not PKCS#8',
      () => write('pkcs1.pem', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' })),
    ],
    [
      'an EC key',
      () =>
        write(
          'ec.pem',
          generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
            type: 'pkcs8',
            format: 'pem',
          }),
        ),
    ],
  ]
  it.each(badKeys)('refuses %s as the private key, naming API_JWT_PRIVATE_KEY_FILE', async (_, file) => {
    const path = file()
    const error = await configError(jwtConfig({ secret: SECRET, privateKeyFile: path }))
    expect(error.issues.map((i) => i.variable)).toEqual(['API_JWT_PRIVATE_KEY_FILE'])
    expect(error.message).toContain(path)
  })

  // jose signs RS256 only with keys of 2048 bits or more: a shorter key must be refused at start,
  // not by a failing POST /token (a 500) once the API runs.
  it('refuses an RSA key shorter than 2048 bits, naming API_JWT_PRIVATE_KEY_FILE', async () => {
    const short = write(
      'short.pem',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    )
    const error = await configError(jwtConfig({ privateKeyFile: short }))
    expect(error.issues.map((i) => i.variable)).toEqual(['API_JWT_PRIVATE_KEY_FILE'])
  })
})

describe('HS256 (API_JWT_SECRET)', () => {
  let tokens: TokenService
  beforeAll(async () => {
    tokens = await TokenService.create(jwtConfig({ secret: SECRET, ttlSeconds: 600 }))
  })

  it('issues a token that verifies to its subject and role', async () => {
    expect(tokens.canIssue).toBe(true)
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const issued = await tokens.issue(`user-${role}`, role)
      expect(issued.token_type).toBe('bearer')
      expect(issued.expires_in).toBe(600)
      expect(await tokens.verify(`Bearer ${issued.access_token}`)).toEqual({ subject: `user-${role}`, role })
    }
  })

  it('issues tokens with the configured issuer, audience and lifetime', async () => {
    const { access_token } = await tokens.issue('alice', 'viewer')
    expect(decodeProtectedHeader(access_token).alg).toBe('HS256')
    const payload = decodeJwt(access_token)
    expect(payload).toMatchObject({ sub: 'alice', role: 'viewer', iss: ISSUER, aud: AUDIENCE })
    expect((payload.exp as number) - (payload.iat as number)).toBe(600)
  })

  it('accepts the scheme in any case and surrounding spaces', async () => {
    const { access_token } = await tokens.issue('alice', 'viewer')
    expect((await tokens.verify(`bearer ${access_token}`)).subject).toBe('alice')
    expect((await tokens.verify(`BEARER   ${access_token}  `)).subject).toBe('alice')
  })

  it('refuses a token once its lifetime has passed (TOKEN_EXPIRED)', async () => {
    const { access_token } = await tokens.issue('alice', 'viewer')
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 590_000)
    expect((await tokens.verify(`Bearer ${access_token}`)).subject).toBe('alice')
    vi.setSystemTime(Date.now() + 20_000)
    expect(await refused(tokens.verify(`Bearer ${access_token}`), 'TOKEN_EXPIRED')).toMatch(/expired/)
  })

  it('refuses a token signed with a past expiry (TOKEN_EXPIRED)', async () => {
    const token = await hs256(claims({ iat: now() - 3600, exp: now() - 60 }))
    await refused(tokens.verify(`Bearer ${token}`), 'TOKEN_EXPIRED')
  })

  it.each([
    [undefined, 'TOKEN_MISSING'],
    ['', 'TOKEN_MISSING'],
    ['Basic YWxpY2U6cGFzc3dvcmQ=', 'TOKEN_INVALID'],
    ['Bearer', 'TOKEN_INVALID'],
    ['Bearer ', 'TOKEN_INVALID'],
    ['Token abc.def.ghi', 'TOKEN_INVALID'],
    ['Bearer two tokens', 'TOKEN_INVALID'],
    ['Bearer garbage', 'TOKEN_INVALID'],
    ['Bearer a.b.c', 'TOKEN_INVALID'],
    ['Bearer ....', 'TOKEN_INVALID'],
  ] as [string | undefined, AuthErrorCode][])('refuses the header %j with %s', async (header, code) => {
    await refused(tokens.verify(header), code)
  })

  it('refuses a token signed with another secret', async () => {
    const token = await hs256(claims(), 'another-secret-of-at-least-32-characters!')
    await refused(tokens.verify(`Bearer ${token}`), 'TOKEN_INVALID')
  })

  it('refuses a token whose payload was changed after signing (a viewer made admin)', async () => {
    const { access_token } = await tokens.issue('alice', 'viewer')
    const [header, payload, signature] = access_token.split('.') as [string, string, string]
    const forged = b64url({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' })
    await refused(tokens.verify(`Bearer ${header}.${forged}.${signature}`), 'TOKEN_INVALID')
  })

  it.each([
    ['alg none, no signature', { alg: 'none', typ: 'JWT' }, ''],
    ['alg None, no signature', { alg: 'None', typ: 'JWT' }, ''],
    ['alg none with a signature', { alg: 'none', typ: 'JWT' }, 'c2lnbmF0dXJl'],
    ['alg HS256 without a signature', { alg: 'HS256', typ: 'JWT' }, ''],
  ])('refuses an unsecured token: %s', async (_, header, signature) => {
    const token = `${b64url(header)}.${b64url(claims({ role: 'admin' }))}.${signature}`
    await refused(tokens.verify(`Bearer ${token}`), 'TOKEN_INVALID')
  })

  it('refuses HS384/HS512 tokens even with the right secret: only the configured algorithm', async () => {
    const key = new TextEncoder().encode(SECRET)
    for (const alg of ['HS384', 'HS512']) {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg }).sign(key)
      await refused(tokens.verify(`Bearer ${token}`), 'TOKEN_INVALID')
    }
  })

  it('refuses an RS256 token when only HS256 is configured', async () => {
    await refused(tokens.verify(`Bearer ${await rs256(claims(), rsa.privateKey)}`), 'TOKEN_INVALID')
  })

  it.each([
    ['a wrong issuer', claims({ iss: 'someone-else' }), /iss/],
    ['no issuer', claims({}, ['iss']), /iss/],
    ['a wrong audience', claims({ aud: 'another-api' }), /aud/],
    ['no audience', claims({}, ['aud']), /aud/],
    ['no expiry', claims({}, ['exp']), /exp/],
    ['no subject', claims({}, ['sub']), /sub/],
    // Principal.subject is a string to the routes, the rate limiter and the logs
    ['a subject that is not a string', claims({ sub: 123 as unknown as string }), /sub/],
    ['a subject that is null', claims({ sub: null as unknown as string }), /sub/],
    ['an empty subject', claims({ sub: '' }), /sub/],
    ['a not-before in the future', claims({ nbf: now() + 600 }), /nbf/],
    ['no role', claims({}, ['role']), /role/],
    ['an unknown role', claims({ role: 'root' }), /role/],
    ['a role in the wrong case', claims({ role: 'Admin' }), /role/],
    ['a role that is not a string', claims({ role: ['admin'] }), /role/],
    ['a roles array with no known role', claims({ roles: ['root', 'offline_access'] }, ['role']), /role/],
  ] as [string, JWTPayload, RegExp][])(
    'refuses a token with %s (TOKEN_INVALID, saying which claim)',
    async (_, payload, claim) => {
      expect(await refused(tokens.verify(`Bearer ${await hs256(payload)}`), 'TOKEN_INVALID')).toMatch(claim)
    },
  )

  it('takes the highest role of a `roles` array', async () => {
    const token = await hs256(claims({ roles: ['viewer', 'admin', 'operator'] }, ['role']))
    expect(await tokens.verify(`Bearer ${token}`)).toEqual({ subject: 'alice', role: 'admin' })
  })

  it('accepts a token of another issuer and audience only when configured for them', async () => {
    const other = await TokenService.create(
      jwtConfig({ secret: SECRET, issuer: 'https://id.example.com/', audience: 'dash' }),
    )
    const token = await hs256(claims({ iss: 'https://id.example.com/', aud: ['dash', 'other'] }))
    expect((await other.verify(`Bearer ${token}`)).role).toBe('operator')
    await refused(tokens.verify(`Bearer ${token}`), 'TOKEN_INVALID')
    await refused(
      other.verify(`Bearer ${(await tokens.issue('alice', 'admin')).access_token}`),
      'TOKEN_INVALID',
    )
  })
})

describe('RS256 with API_JWT_PRIVATE_KEY_FILE', () => {
  it('issues RS256 tokens that verify, with the configured key id', async () => {
    const tokens = await TokenService.create(
      jwtConfig({ privateKeyFile: keyFile, keyId: 'api-2026', ttlSeconds: 120 }),
    )
    expect(tokens.canIssue).toBe(true)
    const issued = await tokens.issue('bob', 'admin')
    expect(issued.expires_in).toBe(120)
    expect(decodeProtectedHeader(issued.access_token)).toMatchObject({ alg: 'RS256', kid: 'api-2026' })
    expect(await tokens.verify(`Bearer ${issued.access_token}`)).toEqual({ subject: 'bob', role: 'admin' })
  })

  it('issues and verifies without a key id too', async () => {
    const tokens = await TokenService.create(jwtConfig({ privateKeyFile: keyFile }))
    const issued = await tokens.issue('bob', 'viewer')
    expect(decodeProtectedHeader(issued.access_token).kid).toBeUndefined()
    expect(await tokens.verify(`Bearer ${issued.access_token}`)).toEqual({ subject: 'bob', role: 'viewer' })
  })

  it('signs with the private key when a secret is configured too, and accepts both', async () => {
    const tokens = await TokenService.create(jwtConfig({ secret: SECRET, privateKeyFile: keyFile }))
    const issued = await tokens.issue('bob', 'operator')
    expect(decodeProtectedHeader(issued.access_token).alg).toBe('RS256')
    expect((await tokens.verify(`Bearer ${issued.access_token}`)).role).toBe('operator')
    expect((await tokens.verify(`Bearer ${await hs256(claims())}`)).role).toBe('operator')
  })

  it('refuses a token signed by another RSA key', async () => {
    const tokens = await TokenService.create(jwtConfig({ privateKeyFile: keyFile }))
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    await refused(tokens.verify(`Bearer ${await rs256(claims(), other)}`), 'TOKEN_INVALID')
  })

  // Algorithm confusion: the RSA public key is public, so an HS256 token "signed" with its PEM as
  // the HMAC secret must never be accepted by a service that checks RS256.
  it('refuses an HS256 token signed with the RSA public key as secret', async () => {
    const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string
    const publicJwk = JSON.stringify(await exportJWK(rsa.publicKey))
    const rsOnly = await TokenService.create(jwtConfig({ privateKeyFile: keyFile }))
    const both = await TokenService.create(jwtConfig({ secret: SECRET, privateKeyFile: keyFile }))
    for (const secret of [publicPem, publicPem.trim(), publicJwk]) {
      const token = await hs256(claims({ role: 'admin' }), new TextEncoder().encode(secret))
      await refused(rsOnly.verify(`Bearer ${token}`), 'TOKEN_INVALID')
      await refused(both.verify(`Bearer ${token}`), 'TOKEN_INVALID')
    }
  })

  it('refuses an unsecured token', async () => {
    const tokens = await TokenService.create(jwtConfig({ privateKeyFile: keyFile }))
    const token = `${b64url({ alg: 'none' })}.${b64url(claims({ role: 'admin' }))}.`
    await refused(tokens.verify(`Bearer ${token}`), 'TOKEN_INVALID')
  })
})

/** A local identity provider: a JWKS endpoint on 127.0.0.1 whose behaviour each test can change. */
class IdentityProvider {
  readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 })
  readonly kid = 'idp-key-1'
  readonly issuer = 'https://id.example.com/realms/agent-party'
  mode: 'serve' | 'fail' | 'hang' = 'serve'
  withKid = true
  requests = 0
  readonly #server: Server = createServer((_request, response) => {
    this.requests++
    if (this.mode === 'hang') return
    if (this.mode === 'fail') {
      response.writeHead(503, { 'content-type': 'text/plain' }).end('identity provider is restarting')
      return
    }
    void exportJWK(this.key.publicKey).then((jwk) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          keys: [{ ...jwk, use: 'sig', alg: 'RS256', ...(this.withKid ? { kid: this.kid } : {}) }],
        }),
      ),
    )
  })

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/protocol/openid-connect/certs`
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  /** A token of this provider; `kid` null: no key id in the header. */
  token(extra: JWTPayload = {}, omit: string[] = [], kid: string | null = this.kid): Promise<string> {
    return rs256(
      claims({ iss: this.issuer, sub: 'svc-dashboard', ...extra }, omit),
      this.key.privateKey,
      kid ?? undefined,
    )
  }
}

/** A URL on which nothing listens (a port just freed). */
async function deadUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}/jwks`
}

describe('RS256 tokens of an identity provider (API_JWT_JWKS_URL)', () => {
  const idp = new IdentityProvider()
  let url: string
  let tokens: TokenService
  beforeAll(async () => {
    url = await idp.start()
  })
  afterAll(async () => {
    await idp.stop()
  })
  afterEach(() => {
    idp.mode = 'serve'
    idp.withKid = true
  })
  const fresh = () => TokenService.create(jwtConfig({ jwksUrl: url, issuer: idp.issuer }))

  it('verifies tokens signed by the provider key, fetching its JWKS', async () => {
    tokens = await fresh()
    expect(tokens.canIssue).toBe(false)
    await expect(tokens.issue('alice', 'admin')).rejects.toThrow(/issues none/)
    const before = idp.requests
    expect(await tokens.verify(`Bearer ${await idp.token({ role: 'viewer' })}`)).toEqual({
      subject: 'svc-dashboard',
      role: 'viewer',
    })
    expect(idp.requests).toBe(before + 1)
    // the keys are cached: a second token does not fetch again
    expect((await tokens.verify(`Bearer ${await idp.token({ role: 'admin' })}`)).role).toBe('admin')
    expect(idp.requests).toBe(before + 1)
  })

  it('gives the highest role of a `roles` array claim', async () => {
    tokens = await fresh()
    const token = await idp.token({ roles: ['offline_access', 'viewer', 'admin', 'operator'] }, ['role'])
    expect(await tokens.verify(`Bearer ${token}`)).toEqual({ subject: 'svc-dashboard', role: 'admin' })
  })

  it('refuses a token whose key id the JWKS does not have', async () => {
    tokens = await fresh()
    await refused(tokens.verify(`Bearer ${await idp.token({}, [], 'rotated-away')}`), 'TOKEN_INVALID')
  })

  it('refuses a token signed by another key under the provider key id', async () => {
    tokens = await fresh()
    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    const token = await rs256(claims({ iss: idp.issuer, role: 'admin' }), forger, idp.kid)
    await refused(tokens.verify(`Bearer ${token}`), 'TOKEN_INVALID')
  })

  it('refuses provider tokens with a wrong issuer or audience, expired, or without a role', async () => {
    tokens = await fresh()
    await refused(
      tokens.verify(`Bearer ${await idp.token({ iss: 'https://evil.example.com/' })}`),
      'TOKEN_INVALID',
    )
    await refused(tokens.verify(`Bearer ${await idp.token({ aud: 'account' })}`), 'TOKEN_INVALID')
    await refused(tokens.verify(`Bearer ${await idp.token({ exp: now() - 10 })}`), 'TOKEN_EXPIRED')
    await refused(tokens.verify(`Bearer ${await idp.token({}, ['role'])}`), 'TOKEN_INVALID')
  })

  it('refuses HS256 tokens, including one signed with the provider public key as secret', async () => {
    tokens = await fresh()
    const publicPem = idp.key.publicKey.export({ type: 'spki', format: 'pem' }) as string
    for (const secret of [publicPem, SECRET]) {
      const token = await hs256(claims({ iss: idp.issuer, role: 'admin' }), new TextEncoder().encode(secret))
      await refused(tokens.verify(`Bearer ${token}`), 'TOKEN_INVALID')
    }
  })

  it('answers AUTH_UNAVAILABLE (503), not a 401, when the JWKS URL does not answer', async () => {
    const down = await TokenService.create(jwtConfig({ jwksUrl: await deadUrl(), issuer: idp.issuer }))
    const message = await refused(down.verify(`Bearer ${await idp.token()}`), 'AUTH_UNAVAILABLE')
    expect(message).toContain('API_JWT_JWKS_URL')
  })

  it('answers AUTH_UNAVAILABLE (503) when the JWKS URL accepts but never answers', {
    timeout: 15_000,
  }, async () => {
    idp.mode = 'hang'
    tokens = await fresh()
    await refused(tokens.verify(`Bearer ${await idp.token()}`), 'AUTH_UNAVAILABLE')
  })

  // A provider that answers with an error status has no keys to give either: the caller's token may
  // well be good, so the answer is "try later" (503), not "your token is bad" (401).
  it('answers AUTH_UNAVAILABLE (503) when the JWKS URL answers with an error status', async () => {
    idp.mode = 'fail'
    tokens = await fresh()
    await refused(tokens.verify(`Bearer ${await idp.token()}`), 'AUTH_UNAVAILABLE')
  })

  it('accepts tokens again once the provider answers again, without a restart', async () => {
    idp.mode = 'fail'
    tokens = await fresh()
    const token = await idp.token({ role: 'operator' })
    await expect(tokens.verify(`Bearer ${token}`)).rejects.toBeInstanceOf(AuthError)
    idp.mode = 'serve'
    expect(await tokens.verify(`Bearer ${token}`)).toEqual({ subject: 'svc-dashboard', role: 'operator' })
  })

  it('with a private key file too: verifies its own tokens while the provider is down', async () => {
    const both = await TokenService.create(
      jwtConfig({ privateKeyFile: keyFile, keyId: 'api-1', jwksUrl: await deadUrl(), issuer: idp.issuer }),
    )
    const issued = await both.issue('bob', 'operator')
    expect(await both.verify(`Bearer ${issued.access_token}`)).toEqual({ subject: 'bob', role: 'operator' })
    await refused(both.verify(`Bearer ${await idp.token()}`), 'AUTH_UNAVAILABLE')
  })

  it('with a private key file too: verifies provider tokens and its own', async () => {
    const both = await TokenService.create(
      jwtConfig({ privateKeyFile: keyFile, jwksUrl: url, issuer: idp.issuer }),
    )
    expect((await both.verify(`Bearer ${await idp.token({ role: 'admin' })}`)).role).toBe('admin')
    expect((await both.verify(`Bearer ${(await both.issue('bob', 'viewer')).access_token}`)).role).toBe(
      'viewer',
    )
  })

  // A provider with a single key often omits `kid`. The API's own public key (no API_JWT_KEY_ID)
  // then matches the token too; its signature check fails, and the provider's key must still be tried.
  it('with a private key file too: verifies provider tokens that carry no key id', async () => {
    idp.withKid = false
    const both = await TokenService.create(
      jwtConfig({ privateKeyFile: keyFile, jwksUrl: url, issuer: idp.issuer }),
    )
    expect((await both.verify(`Bearer ${await idp.token({ role: 'admin' }, [], null)}`)).role).toBe('admin')
    expect((await both.verify(`Bearer ${(await both.issue('bob', 'viewer')).access_token}`)).role).toBe(
      'viewer',
    )
  })
})
