// Production connection settings: secrets from *_FILE variables, the combinations that cannot work
// refused with the variable to change, and what each client is then built with (Kafka TLS and
// SASL options, the Redis URL and CA, the S3 CA, the registry's basic auth).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, type Environment, loadConfig, redactConfig } from '../../../config/config.js'
import { baseOptions, clientCredentialsToken } from '../../../kafka/clients.js'
import { RegistryClient } from '../../../schemas/registry/registry-client.js'
import { redisConnectionOptions } from '../../../sinks/redis/target.js'
import { createS3Client } from '../../../sinks/s3/client.js'

const dir = mkdtempSync(join(tmpdir(), 'agent-party-connections-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
function file(content: string): string {
  const path = join(dir, `f${files++}`)
  writeFileSync(path, content)
  return path
}

const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`
const CA = pem('CERTIFICATE', 'Y2EtY2VydGlmaWNhdGU=')
const CERT = pem('CERTIFICATE', 'Y2xpZW50LWNlcnRpZmljYXRl')
const KEY = pem('PRIVATE KEY', 'c2VjcmV0LWtleS1ieXRlcw==')

function issuesOf(env: Environment): { variable: string; problem: string }[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.issues
    throw error
  }
  throw new Error('expected a ConfigError')
}

function messageOf(env: Environment): string {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('expected a ConfigError')
}

const scram = {
  KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
  KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
  KAFKA_SASL_USERNAME: 'svc',
}

describe('secrets from files', () => {
  it('reads each *_FILE variable, trimmed of the newline a secret file ends with', () => {
    const config = loadConfig({
      ...scram,
      KAFKA_SASL_PASSWORD_FILE: file('kafka-pw\n'),
      NEO4J_PASSWORD_FILE: file('  neo-pw\n'),
      S3_SECRET_KEY_FILE: file('s3-pw\n'),
      SCHEMA_REGISTRY_USERNAME: 'reg',
      SCHEMA_REGISTRY_PASSWORD_FILE: file('reg-pw\n'),
    })
    expect(config.kafka.sasl).toEqual({ mechanism: 'SCRAM-SHA-512', username: 'svc', password: 'kafka-pw' })
    expect(config.neo4j.password).toBe('neo-pw')
    expect(config.s3.secretKey).toBe('s3-pw')
    expect(config.schemaRegistry).toMatchObject({ username: 'reg', password: 'reg-pw' })
  })

  it('puts the Redis user and the password of its file into the URL, encoded', () => {
    const config = loadConfig({
      REDIS_URL: 'rediss://cache.example.com:6380/2',
      REDIS_USERNAME: 'app',
      REDIS_PASSWORD_FILE: file('p@ss:w/rd\n'),
    })
    const url = new URL(config.redis.url)
    expect(url.protocol).toBe('rediss:')
    expect(decodeURIComponent(url.username)).toBe('app')
    expect(decodeURIComponent(url.password)).toBe('p@ss:w/rd')
    expect(url.host).toBe('cache.example.com:6380')
    expect(url.pathname).toBe('/2')
  })

  it('leaves REDIS_URL as written when no user or password file is given', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis.url).toBe('redis://127.0.0.1:6379')
  })

  it('refuses an empty or unreadable file, naming the variable', () => {
    expect(issuesOf({ NEO4J_PASSWORD_FILE: file('\n') })).toEqual([
      expect.objectContaining({
        variable: 'NEO4J_PASSWORD_FILE',
        problem: expect.stringMatching(/empty file/),
      }),
    ])
    const folder = join(dir, 'a-folder')
    mkdirSync(folder)
    expect(issuesOf({ NEO4J_PASSWORD_FILE: folder })).toEqual([
      expect.objectContaining({ variable: 'NEO4J_PASSWORD_FILE', problem: expect.stringMatching(/EISDIR/) }),
    ])
  })

  for (const [name, extra] of [
    ['NEO4J_PASSWORD', {}],
    ['S3_SECRET_KEY', {}],
    ['SCHEMA_REGISTRY_PASSWORD', { SCHEMA_REGISTRY_USERNAME: 'reg' }],
    ['KAFKA_SASL_PASSWORD', scram],
    [
      'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'https://idp.example.com/token',
        KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'client',
      },
    ],
  ] as const) {
    it(`refuses ${name} and ${name}_FILE together`, () => {
      const issues = issuesOf({ ...extra, [name]: 'in-env', [`${name}_FILE`]: file('in-file') })
      expect(issues).toEqual([
        expect.objectContaining({ variable: `${name}_FILE`, problem: `is set together with ${name}` }),
      ])
    })
  }

  it('never shows a secret in a message', () => {
    const message = messageOf({
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
      KAFKA_SASL_PASSWORD: 'hunter2',
      REDIS_URL: 'redis://app:redis-hunter3@cache:6379',
      REDIS_PASSWORD_FILE: file('redis-hunter4'),
    })
    for (const secret of ['hunter2', 'redis-hunter3', 'redis-hunter4']) expect(message).not.toContain(secret)
    expect(message).toMatch(/KAFKA_SASL_PASSWORD: is set, but KAFKA_SASL_MECHANISM is empty/)
    expect(message).toMatch(/REDIS_PASSWORD_FILE: is set, but REDIS_URL has a password too/)
  })
})

describe('combinations that cannot work', () => {
  const cases: [string, Environment, string, RegExp][] = [
    [
      'a SASL mechanism on PLAINTEXT',
      { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
      'KAFKA_SASL_MECHANISM',
      /is SCRAM-SHA-512, but KAFKA_SECURITY_PROTOCOL is PLAINTEXT, which uses no SASL/,
    ],
    [
      'SASL_SSL without a mechanism',
      { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' },
      'KAFKA_SASL_MECHANISM',
      /is empty, but KAFKA_SECURITY_PROTOCOL is SASL_SSL/,
    ],
    [
      'SCRAM without a user',
      { ...scram, KAFKA_SASL_USERNAME: '', KAFKA_SASL_PASSWORD: 'p' },
      'KAFKA_SASL_USERNAME',
      /is empty, but KAFKA_SASL_MECHANISM is SCRAM-SHA-512/,
    ],
    [
      'SCRAM without a password',
      scram,
      'KAFKA_SASL_PASSWORD',
      /is empty \(and so is KAFKA_SASL_PASSWORD_FILE\)/,
    ],
    [
      'OAUTHBEARER with neither a token file nor a token URL',
      { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'OAUTHBEARER' },
      'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
      /is empty, and so is KAFKA_SASL_OAUTHBEARER_TOKEN_URL/,
    ],
    [
      'OAUTHBEARER with both',
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: file('token'),
        KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'https://idp.example.com/token',
      },
      'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
      /is set together with KAFKA_SASL_OAUTHBEARER_TOKEN_URL/,
    ],
    [
      'a token URL without a client id',
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'https://idp.example.com/token',
        KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: 's',
      },
      'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
      /is empty, but KAFKA_SASL_OAUTHBEARER_TOKEN_URL is set/,
    ],
    [
      'a user with OAUTHBEARER',
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: file('token'),
        KAFKA_SASL_USERNAME: 'u',
      },
      'KAFKA_SASL_USERNAME',
      /is set, but KAFKA_SASL_MECHANISM is OAUTHBEARER/,
    ],
    [
      'a CA file on SASL_PLAINTEXT',
      {
        ...scram,
        KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
        KAFKA_SASL_PASSWORD: 'p',
        KAFKA_SSL_CA_FILE: file(CA),
      },
      'KAFKA_SSL_CA_FILE',
      /is set, but KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT \(no TLS\)/,
    ],
    [
      'a client certificate without its key',
      { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: file(CERT) },
      'KAFKA_SSL_KEY_FILE',
      /is empty, but KAFKA_SSL_CERT_FILE is set/,
    ],
    [
      'a CA file that is not PEM',
      { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: file('not a certificate') },
      'KAFKA_SSL_CA_FILE',
      /holds no PEM block/,
    ],
    [
      'a Redis CA with redis://',
      { REDIS_URL: 'redis://cache:6379', REDIS_TLS_CA_FILE: file(CA) },
      'REDIS_TLS_CA_FILE',
      /REDIS_URL is not rediss:\/\//,
    ],
    [
      'a Redis user in two places',
      { REDIS_URL: 'redis://app@cache:6379', REDIS_USERNAME: 'other' },
      'REDIS_USERNAME',
      /REDIS_URL names a user too/,
    ],
    [
      'an S3 CA with an http endpoint',
      { S3_ENDPOINT: 'http://minio:9000', S3_CA_FILE: file(CA) },
      'S3_CA_FILE',
      /S3_ENDPOINT is not https/,
    ],
    [
      'a registry password without a user',
      { SCHEMA_REGISTRY_PASSWORD: 'p' },
      'SCHEMA_REGISTRY_USERNAME',
      /is empty, but a registry password is set/,
    ],
    [
      'a registry user without a password',
      { SCHEMA_REGISTRY_USERNAME: 'u' },
      'SCHEMA_REGISTRY_PASSWORD',
      /is empty .* but SCHEMA_REGISTRY_USERNAME is set/,
    ],
    [
      'an exactly-once commit interval the transaction timeout would cut short',
      { COMMIT_INTERVAL_MS: '30000' },
      'COMMIT_INTERVAL_MS',
      /is 30000, not below TRANSACTION_TIMEOUT_MS \(10000\): the broker would abort transactions/,
    ],
  ]
  for (const [what, env, variable, problem] of cases) {
    it(`refuses ${what}, naming ${variable}`, () => {
      const issues = issuesOf(env)
      expect(issues.map((i) => i.variable)).toEqual([variable])
      expect(issues[0]?.problem).toMatch(problem)
    })
  }

  it('lets a commit interval run past the transaction timeout at least once, and below a raised timeout', () => {
    const atLeastOnce = loadConfig({ COMMIT_INTERVAL_MS: '30000', PROCESSING_GUARANTEE: 'at_least_once' })
    expect(atLeastOnce.streams.commitIntervalMs).toBe(30_000)
    const raised = loadConfig({ COMMIT_INTERVAL_MS: '30000', TRANSACTION_TIMEOUT_MS: '60000' })
    expect(raised.streams).toMatchObject({ commitIntervalMs: 30_000, transactionTimeoutMs: 60_000 })
  })
})

describe('Kafka client options', () => {
  it('carry nothing for PLAINTEXT', () => {
    const options = baseOptions(loadConfig({}).kafka, 'x')
    expect(options.tls).toBeUndefined()
    expect(options.sasl).toBeUndefined()
  })

  it('carry the CA, certificate and key read from files for SASL_SSL, and the SASL user', () => {
    const config = loadConfig({
      ...scram,
      KAFKA_SASL_PASSWORD_FILE: file('kafka-pw\n'),
      KAFKA_SSL_CA_FILE: file(CA),
      KAFKA_SSL_CERT_FILE: file(CERT),
      KAFKA_SSL_KEY_FILE: file(KEY),
    })
    const options = baseOptions(config.kafka, 'producer')
    expect(options.tls).toEqual({ ca: CA, cert: CERT, key: KEY, rejectUnauthorized: true })
    expect(options.sasl).toEqual({ mechanism: 'SCRAM-SHA-512', username: 'svc', password: 'kafka-pw' })
  })

  it('carry TLS without SASL for SSL', () => {
    const config = loadConfig({
      KAFKA_SECURITY_PROTOCOL: 'SSL',
      KAFKA_SSL_CA_FILE: file(CA),
      KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
    })
    expect(baseOptions(config.kafka, 'x').tls).toEqual({ ca: CA, rejectUnauthorized: false })
    expect(baseOptions(config.kafka, 'x').sasl).toBeUndefined()
  })

  it('read an OAUTHBEARER token file again at every authentication', async () => {
    const tokenFile = file('token-1\n')
    const config = loadConfig({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: tokenFile,
    })
    const sasl = baseOptions(config.kafka, 'x').sasl
    expect(sasl?.mechanism).toBe('OAUTHBEARER')
    const token = sasl?.token as () => Promise<string>
    expect(await token()).toBe('token-1')
    writeFileSync(tokenFile, 'token-2\n')
    expect(await token()).toBe('token-2')
    rmSync(tokenFile)
    await expect(token()).rejects.toThrow(/KAFKA_SASL_OAUTHBEARER_TOKEN_FILE .* cannot be read \(ENOENT\)/)
  })

  it('get OAUTHBEARER tokens by the client credentials grant, and keep them until they age', async () => {
    const calls: { url: string; init: RequestInit }[] = []
    let n = 0
    const fakeFetch = (async (url: string, init: RequestInit) => {
      calls.push({ url, init })
      n++
      return new Response(JSON.stringify({ access_token: `tok-${n}`, expires_in: n === 1 ? 0.001 : 3600 }), {
        status: 200,
      })
    }) as unknown as typeof fetch
    const provider = clientCredentialsToken(
      {
        mechanism: 'OAUTHBEARER',
        tokenUrl: 'https://idp.example.com/token',
        clientId: 'client',
        clientSecret: 's3cr:et',
        scope: 'kafka',
      },
      fakeFetch,
    )
    expect(await provider()).toBe('tok-1')
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(await provider()).toBe('tok-2')
    expect(await provider()).toBe('tok-2')
    expect(calls).toHaveLength(2)
    const headers = calls[0]?.init.headers as Record<string, string>
    expect(headers.authorization).toBe(`Basic ${Buffer.from('client:s3cr%3Aet').toString('base64')}`)
    expect(String(calls[0]?.init.body)).toBe('grant_type=client_credentials&scope=kafka')
  })

  it('name the token URL when the identity provider refuses', async () => {
    const refusing = (async () => new Response('no', { status: 401 })) as unknown as typeof fetch
    const provider = clientCredentialsToken(
      {
        mechanism: 'OAUTHBEARER',
        tokenUrl: 'https://idp.example.com/t',
        clientId: 'c',
        clientSecret: 's',
        scope: undefined,
      },
      refusing,
    )
    await expect(provider()).rejects.toThrow(
      /KAFKA_SASL_OAUTHBEARER_TOKEN_URL https:\/\/idp.example.com\/t answered 401/,
    )
  })
})

describe('Redis, S3 and registry clients', () => {
  it('give Redis the CA of REDIS_TLS_CA_FILE with rediss://', () => {
    const config = loadConfig({ REDIS_URL: 'rediss://cache:6380', REDIS_TLS_CA_FILE: file(CA) })
    expect(redisConnectionOptions(config.redis)).toEqual({ tls: { ca: CA } })
    expect(redisConnectionOptions(loadConfig({}).redis)).toEqual({})
  })

  it('give S3 TLS from an https endpoint, checked against S3_CA_FILE', () => {
    const config = loadConfig({ S3_ENDPOINT: 'https://minio.example.com', S3_CA_FILE: file(CA) })
    const client = createS3Client(config.s3) as unknown as {
      protocol: string
      port: number
      transportAgent: { options: { ca?: string } }
    }
    expect(client.protocol).toBe('https:')
    expect(client.port).toBe(443)
    expect(client.transportAgent.options.ca).toBe(CA)
  })

  it('send the registry basic-auth credentials, and name them when refused', async () => {
    const seen: IncomingHttpHeaders[] = []
    const server = createServer((request, response) => {
      seen.push(request.headers)
      const ok = request.headers.authorization === `Basic ${Buffer.from('reg:reg-pw').toString('base64')}`
      response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
      response.end(ok ? JSON.stringify({ schema: '"string"' }) : '{"error_code":401}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const config = loadConfig({
        SCHEMA_REGISTRY_URL: url,
        SCHEMA_REGISTRY_USERNAME: 'reg',
        SCHEMA_REGISTRY_PASSWORD_FILE: file('reg-pw\n'),
      })
      expect(await new RegistryClient(config.schemaRegistry).schemaById(1)).toBe('"string"')
      const wrong = loadConfig({
        SCHEMA_REGISTRY_URL: url,
        SCHEMA_REGISTRY_USERNAME: 'reg',
        SCHEMA_REGISTRY_PASSWORD: 'x',
      })
      await expect(new RegistryClient(wrong.schemaRegistry).schemaById(1)).rejects.toThrow(
        /refused the credentials: check SCHEMA_REGISTRY_USERNAME/,
      )
      expect(seen).toHaveLength(2)
    } finally {
      server.close()
    }
  })
})

describe('redactConfig', () => {
  it('masks the new secrets', () => {
    const config = loadConfig({
      ...scram,
      KAFKA_SASL_PASSWORD: 'kafka-hunter2',
      KAFKA_SSL_CERT_FILE: file(CERT),
      KAFKA_SSL_KEY_FILE: file(KEY),
      SCHEMA_REGISTRY_USERNAME: 'reg',
      SCHEMA_REGISTRY_PASSWORD: 'registry-hunter2',
      REDIS_URL: 'redis://cache:6379',
      REDIS_USERNAME: 'app',
      REDIS_PASSWORD_FILE: file('redis-hunter2'),
    })
    const text = JSON.stringify(redactConfig(config))
    for (const secret of ['kafka-hunter2', 'registry-hunter2', 'redis-hunter2', 'c2VjcmV0LWtleS1ieXRlcw=='])
      expect(text).not.toContain(secret)
  })

  it('masks the OAuth client secret', () => {
    const config = loadConfig({
      KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'https://idp.example.com/token',
      KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'client',
      KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE: file('oauth-hunter2'),
    })
    expect(config.kafka.sasl).toMatchObject({ clientSecret: 'oauth-hunter2' })
    expect(JSON.stringify(redactConfig(config))).not.toContain('oauth-hunter2')
  })
})
