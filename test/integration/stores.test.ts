// Round trips through the real Redis, S3 server and Schema Registry of the local stack, with the
// clients and configuration the sinks and serdes will use.
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createS3Client } from '../../sinks/s3/client.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()

describe('Redis', () => {
  const redis = new Redis(config.redis.url)
  afterAll(async () => {
    await redis.del(`${prefix}:hash`, `${prefix}:counter`)
    redis.disconnect()
  })

  it('stores and reads back a hash, and runs a Lua script atomically', async () => {
    await redis.hset(`${prefix}:hash`, { status: 'idle', template: 'researcher' })
    expect(await redis.hgetall(`${prefix}:hash`)).toEqual({ status: 'idle', template: 'researcher' })
    const script = "redis.call('INCRBY', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])"
    expect(await redis.eval(script, 1, `${prefix}:counter`, 5)).toBe('5')
    expect(await redis.eval(script, 1, `${prefix}:counter`, 2)).toBe('7')
  })
})

describe('S3', () => {
  const s3 = createS3Client(config.s3)
  const bucket = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63)

  afterAll(async () => {
    const names: string[] = []
    for await (const o of s3.listObjectsV2(bucket, '', true)) if (o.name) names.push(o.name)
    await s3.removeObjects(bucket, names)
    await s3.removeBucket(bucket)
  })

  it('creates a bucket, puts, gets, lists and stats objects', async () => {
    await s3.makeBucket(bucket, config.s3.region)
    expect(await s3.bucketExists(bucket)).toBe(true)
    await s3.putObject(bucket, 'agent_events/0/00000000000000000000.avro', Buffer.from('first'))
    await s3.putObject(bucket, 'agent_events/1/00000000000000000000.avro', Buffer.from('second!'))

    const body = await s3.getObject(bucket, 'agent_events/0/00000000000000000000.avro')
    const chunks: Buffer[] = []
    for await (const chunk of body) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).toString()).toBe('first')

    const listed: string[] = []
    for await (const o of s3.listObjectsV2(bucket, 'agent_events/', true)) if (o.name) listed.push(o.name)
    expect(listed.sort()).toEqual([
      'agent_events/0/00000000000000000000.avro',
      'agent_events/1/00000000000000000000.avro',
    ])
    expect((await s3.statObject(bucket, 'agent_events/1/00000000000000000000.avro')).size).toBe(7)
  })

  it('has the archive bucket that provisioning creates', async () => {
    expect(await s3.bucketExists(config.s3.bucket)).toBe(true)
  })
})

describe('Schema Registry', () => {
  const subject = `${prefix}-value`
  const base = config.schemaRegistry.url
  const schemaV1 = {
    type: 'record',
    name: 'Probe',
    namespace: 'agent_party.test',
    fields: [{ name: 'id', type: 'string' }],
  }

  afterAll(async () => {
    await fetch(`${base}/subjects/${subject}`, { method: 'DELETE' })
    await fetch(`${base}/subjects/${subject}?permanent=true`, { method: 'DELETE' })
  })

  async function call(path: string, init?: RequestInit) {
    const response = await fetch(`${base}${path}`, {
      ...init,
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...init?.headers },
    })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }

  it('registers a schema, returns its id, and serves it back by id (Confluent-compatible API)', async () => {
    const registered = await call(`/subjects/${subject}/versions`, {
      method: 'POST',
      body: JSON.stringify({ schemaType: 'AVRO', schema: JSON.stringify(schemaV1) }),
    })
    expect(registered.status).toBe(200)
    expect(typeof registered.body.id).toBe('number')

    const byId = await call(`/schemas/ids/${registered.body.id}`)
    expect(byId.status).toBe(200)
    expect(JSON.parse(String(byId.body.schema))).toEqual(schemaV1)

    const again = await call(`/subjects/${subject}/versions`, {
      method: 'POST',
      body: JSON.stringify({ schemaType: 'AVRO', schema: JSON.stringify(schemaV1) }),
    })
    expect(again.body.id).toBe(registered.body.id)
  })
})
