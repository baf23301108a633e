import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../config/config.js'
import { componentLogger, createRootLogger } from '../../../config/logger.js'
import { captureLogs } from '../../support/log-capture.js'

describe('logging', () => {
  it('writes JSON with one component and a level name', () => {
    const { lines, raw, destination } = captureLogs()
    const log = loadConfig({}).log
    const root = createRootLogger(log, { destination })
    componentLogger(root, log, 'kafka').info({ topic: 'agent_events' }, 'hello')
    expect(lines[0]).toMatchObject({ level: 'info', component: 'kafka', topic: 'agent_events', msg: 'hello' })
    expect(raw[0]?.match(/"component"/g)).toHaveLength(1)
    expect(typeof lines[0]?.time).toBe('string')
  })

  it('applies levels per component over the default level', () => {
    const { lines, destination } = captureLogs()
    const log = loadConfig({ LOG_LEVEL: 'warn', LOG_LEVELS: 'kafka=debug,neo4j=error' }).log
    const root = createRootLogger(log, { destination })
    componentLogger(root, log, 'kafka').debug('kafka debug')
    componentLogger(root, log, 'neo4j').warn('neo4j warn')
    componentLogger(root, log, 'redis').info('redis info')
    componentLogger(root, log, 'redis').warn('redis warn')
    root.info('app info')
    expect(lines.map((l) => l.msg)).toEqual(['kafka debug', 'redis warn'])
  })

  it('masks secrets wherever they appear in a logged object', () => {
    const { lines, destination } = captureLogs()
    const log = loadConfig({}).log
    const root = createRootLogger(log, { destination })
    const config = loadConfig({ NEO4J_PASSWORD: 'neo-secret', S3_SECRET_KEY: 's3-secret' })
    root.info({ config, headers: { authorization: 'Bearer abc' } }, 'started')
    const text = JSON.stringify(lines)
    expect(text).not.toContain('neo-secret')
    expect(text).not.toContain('s3-secret')
    expect(text).not.toContain('Bearer abc')
  })

  it('masks the connection secrets of a logged config: SASL password, OAuth secret, TLS key, Redis URL', () => {
    const { lines, destination } = captureLogs()
    const dir = mkdtempSync(join(tmpdir(), 'agent-party-logger-'))
    try {
      const write = (name: string, text: string) => {
        writeFileSync(join(dir, name), text)
        return join(dir, name)
      }
      const root = createRootLogger(loadConfig({}).log, { destination })
      const scram = loadConfig({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'svc',
        KAFKA_SASL_PASSWORD_FILE: write('pw', 'kafka-hunter2\n'),
        KAFKA_SSL_CERT_FILE: write(
          'cert',
          '-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n',
        ),
        KAFKA_SSL_KEY_FILE: write(
          'key',
          '-----BEGIN PRIVATE KEY-----\nkey-hunter2\n-----END PRIVATE KEY-----\n',
        ),
        REDIS_URL: 'rediss://app:redis-hunter2@cache:6380',
        SCHEMA_REGISTRY_USERNAME: 'reg',
        SCHEMA_REGISTRY_PASSWORD: 'registry-hunter2',
      })
      const oauth = loadConfig({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'https://idp.example.com/token',
        KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'client',
        KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: 'oauth-hunter2',
      })
      root.info({ config: scram }, 'started')
      root.info({ config: oauth }, 'started')
      root.info({ kafka: scram.kafka, redis: scram.redis }, 'connections')
      const text = JSON.stringify(lines)
      for (const secret of [
        'kafka-hunter2',
        'key-hunter2',
        'redis-hunter2',
        'registry-hunter2',
        'oauth-hunter2',
      ])
        expect(text).not.toContain(secret)
      type Logged = {
        config: { kafka: { sasl: Record<string, string> }; redis: { url: string } }
        kafka: { tls: { key: string } }
      }
      const [scramLine, oauthLine, connectionsLine] = lines as unknown as [Logged, Logged, Logged]
      expect(scramLine.config.kafka.sasl).toEqual({
        mechanism: 'SCRAM-SHA-512',
        username: 'svc',
        password: '[redacted]',
      })
      expect(scramLine.config.redis.url).toBe('[redacted]')
      expect(oauthLine.config.kafka.sasl.clientSecret).toBe('[redacted]')
      expect(connectionsLine.kafka.tls.key).toBe('[redacted]')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
