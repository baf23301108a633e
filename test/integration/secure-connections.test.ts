// Production connections against real servers: Kafka's SASL listener of the local stack (a
// SCRAM-SHA-512 user this file creates, and the listener's PLAIN user) and Redis's ACL user. Every
// client is configured only as a deployment configures it, through environment variables
// (loadConfig), the passwords through *_FILE variables; a wrong password must fail fast and say so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FetchIsolationLevels } from '@platformatic/kafka'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Config, loadConfig } from '../../config/config.js'
import { addScramUser, deleteScramUser } from '../../deploy/local/services/kafka.js'
import { createAdmin, createConsumer, createProducer, kafkaConnection } from '../../kafka/clients.js'
import { redisConnectionOptions } from '../../sinks/redis/target.js'
import { Serdes, StreamsBuilder } from '../../topology/index.js'
import { KafkaStreams } from '../../topology/runtime/index.js'
import { fullMessage } from '../support/errors.js'
import { stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const stack = stackEnv()

function fromStack(name: string): string {
  const value = stack[name]
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is missing from the stack env: the stack was started before its Kafka SASL listener and Redis ACL ` +
        'user existed. Restart it: `npm run stack -- down && npm run stack -- up` (or `up` for a new stack).',
    )
  }
  return value
}

const plaintext = fromStack('KAFKA_BOOTSTRAP_SERVERS')
const saslBootstrap = fromStack('KAFKA_SASL_BOOTSTRAP_SERVERS')
const plainUser = fromStack('KAFKA_SASL_PLAIN_USERNAME')
const plainPassword = fromStack('KAFKA_SASL_PLAIN_PASSWORD')
const redisAcl = new URL(fromStack('REDIS_ACL_URL'))

const scramUser = `${prefix}-user`
const scramPassword = `pw-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
const secrets = mkdtempSync(join(tmpdir(), 'agent-party-secrets-'))

function secretFile(name: string, value: string): string {
  const file = join(secrets, name)
  // A trailing newline, as `kubectl create secret --from-file` and editors leave one.
  writeFileSync(file, `${value}\n`, { mode: 0o600 })
  return file
}

function saslConfig(mechanism: string, username: string, passwordFile: string): Config {
  return loadConfig({
    KAFKA_BOOTSTRAP_SERVERS: saslBootstrap,
    KAFKA_CLIENT_ID: prefix,
    KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: username,
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
  })
}

/** Creates a topic, produces one record and consumes it back, every client over SASL. */
async function roundTrip(config: Config, topic: string): Promise<string> {
  const admin = createAdmin(config.kafka)
  const producer = createProducer(config.kafka)
  const consumer = createConsumer(config.kafka, `${topic}-group`, { maxWaitTime: 200 })
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 })
    const value = `hello over ${config.kafka.sasl?.mechanism}`
    await producer.send({ messages: [{ topic, key: Buffer.from('k'), value: Buffer.from(value) }] })
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest' })
    try {
      for await (const message of stream) return message.value.toString()
      throw new Error('the stream ended without a record')
    } finally {
      await stream.close()
    }
  } finally {
    await consumer.close(true).catch(() => {})
    await producer.close().catch(() => {})
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.deleteGroups({ groups: [`${topic}-group`] }).catch(() => {})
    await admin.close().catch(() => {})
  }
}

/** How an admin call over SASL ends, and after how long. */
async function metadataOutcome(config: Config): Promise<{ error: Error | undefined; ms: number }> {
  const admin = createAdmin(config.kafka)
  const start = Date.now()
  try {
    await admin.metadata({ topics: [] })
    return { error: undefined, ms: Date.now() - start }
  } catch (error) {
    return { error: error as Error, ms: Date.now() - start }
  } finally {
    await admin.close().catch(() => {})
  }
}

const RESTART =
  'the stack was started before it had them (stack.env is rewritten by any `stack up`). Restart it: ' +
  '`npm run stack -- down && npm run stack -- up` (the data is kept).'

/** Fails with the fix when the running stack predates its SASL listener or its Redis ACL user. */
async function assertStackHasThem(): Promise<void> {
  const [host, port] = [
    saslBootstrap.slice(0, saslBootstrap.lastIndexOf(':')),
    saslBootstrap.split(':').pop(),
  ]
  const listening = await new Promise<boolean>((resolve) => {
    const socket = connect({ host, port: Number(port) })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(3000)
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.once('timeout', () => done(false))
  })
  if (!listening) throw new Error(`Kafka's SASL listener ${saslBootstrap} does not answer: ${RESTART}`)
  const redis = new Redis(redisAcl.toString(), {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
  } catch {
    throw new Error(`Redis refuses the ACL user of REDIS_ACL_URL: ${RESTART}`)
  } finally {
    redis.disconnect()
  }
}

beforeAll(async () => {
  await assertStackHasThem()
  await addScramUser(plaintext, scramUser, scramPassword, 'SCRAM-SHA-512')
  // The credential reaches the broker through the cluster metadata: wait until it takes it.
  const config = saslConfig('SCRAM-SHA-512', scramUser, secretFile('scram', scramPassword))
  const deadline = Date.now() + 15_000
  for (;;) {
    const { error } = await metadataOutcome(config)
    if (error === undefined) break
    if (Date.now() > deadline) throw error
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
})

afterAll(async () => {
  await deleteScramUser(plaintext, scramUser, 'SCRAM-SHA-512').catch(() => {})
  rmSync(secrets, { recursive: true, force: true })
})

describe('Kafka over SASL', () => {
  it('produces, consumes and administers as a SCRAM-SHA-512 user', async () => {
    const config = saslConfig('SCRAM-SHA-512', scramUser, secretFile('scram', scramPassword))
    expect(await roundTrip(config, `${prefix}-scram`)).toBe('hello over SCRAM-SHA-512')
  })

  it('refuses a wrong SCRAM password at once, with an authentication error', async () => {
    const config = saslConfig('SCRAM-SHA-512', scramUser, secretFile('wrong-scram', `${scramPassword}-wrong`))
    const { error, ms } = await metadataOutcome(config)
    expect(error).toBeDefined()
    expect(fullMessage(error)).toMatch(/SASL authentication failed/)
    expect(fullMessage(error)).not.toContain(scramPassword)
    expect(ms).toBeLessThan(15_000)
  })

  it('produces, consumes and administers as the PLAIN user', async () => {
    const config = saslConfig('PLAIN', plainUser, secretFile('plain', plainPassword))
    expect(await roundTrip(config, `${prefix}-plain`)).toBe('hello over PLAIN')
  })

  it("runs a topology exactly-once over SASL: the runtime's consumer, transactional producer and admin", async () => {
    const config = saslConfig('SCRAM-SHA-512', scramUser, secretFile('scram-streams', scramPassword))
    const input = `${prefix}-streams-in`
    const output = `${prefix}-streams-out`
    const admin = createAdmin(config.kafka)
    const producer = createProducer(config.kafka)
    const consumer = createConsumer(config.kafka, `${output}-reader`, {
      maxWaitTime: 200,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    })
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>(input, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
      .mapValues((v) => v.toUpperCase())
      .to(output, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
    const streams = new KafkaStreams(builder.build(), {
      applicationId: `${prefix}-streams`,
      bootstrapServers: config.kafka.bootstrapServers,
      connection: kafkaConnection(config.kafka),
      stateDir: mkdtempSync(join(tmpdir(), 'sasl-streams-')),
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    })
    try {
      await admin.createTopics({ topics: [input, output], partitions: 1, replicas: 1 })
      await streams.start()
      await producer.send({
        messages: ['a', 'b', 'c'].map((v) => ({ topic: input, key: Buffer.from(v), value: Buffer.from(v) })),
      })
      const stream = await consumer.consume({ topics: [output], mode: 'earliest' })
      const values: string[] = []
      try {
        for await (const message of stream) {
          values.push(message.value.toString())
          if (values.length === 3) break
        }
      } finally {
        await stream.close()
      }
      expect(values).toEqual(['A', 'B', 'C'])
    } finally {
      await streams.close({ timeoutMs: 10_000 }).catch(() => {})
      await consumer.close(true).catch(() => {})
      await producer.close().catch(() => {})
      await admin.deleteTopics({ topics: [input, output] }).catch(() => {})
      await admin.deleteGroups({ groups: [`${prefix}-streams`, `${output}-reader`] }).catch(() => {})
      await admin.close().catch(() => {})
    }
  }, 60_000)

  it('refuses a wrong PLAIN password at once, with an authentication error', async () => {
    const config = saslConfig('PLAIN', plainUser, secretFile('wrong-plain', 'not-the-password'))
    const { error, ms } = await metadataOutcome(config)
    expect(error).toBeDefined()
    expect(fullMessage(error)).toMatch(/SASL authentication failed/)
    expect(ms).toBeLessThan(15_000)
  })
})

describe('Redis as an ACL user', () => {
  const server = `redis://${redisAcl.host}`
  const user = decodeURIComponent(redisAcl.username)
  const password = decodeURIComponent(redisAcl.password)

  function client(passwordFile: string): Redis {
    const config = loadConfig({ REDIS_URL: server, REDIS_USERNAME: user, REDIS_PASSWORD_FILE: passwordFile })
    return new Redis(config.redis.url, {
      ...redisConnectionOptions(config.redis),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
  }

  it('reads and writes as that user', async () => {
    const redis = client(secretFile('redis', password))
    try {
      await redis.connect()
      expect(await redis.acl('WHOAMI')).toBe(user)
      const key = `${prefix}:key`
      await redis.set(key, 'value', 'EX', 60)
      expect(await redis.get(key)).toBe('value')
      await redis.del(key)
    } finally {
      redis.disconnect()
    }
  })

  it("holds the user's limits: a @dangerous command is refused", async () => {
    const redis = client(secretFile('redis', password))
    try {
      await redis.connect()
      await expect(redis.flushall()).rejects.toThrow(/NOPERM/)
      await expect(redis.keys('*')).rejects.toThrow(/NOPERM/)
    } finally {
      redis.disconnect()
    }
  })

  it('refuses a wrong password at once, saying so', async () => {
    const redis = client(secretFile('wrong-redis', 'not-the-password'))
    // ioredis reports the server's refusal as an error event and rejects connect() as closed.
    const errors: Error[] = []
    redis.on('error', (error: Error) => errors.push(error))
    try {
      const start = Date.now()
      await expect(redis.connect()).rejects.toThrow()
      expect(Date.now() - start).toBeLessThan(5_000)
      expect(errors.map((e) => e.message).join('\n')).toMatch(/WRONGPASS/)
    } finally {
      redis.disconnect()
    }
  })
})
