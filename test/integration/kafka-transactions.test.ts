// Exactly-once starts here: transactional writes seen by read_committed readers only once
// committed, and a transactional id that survives a SIGKILL of its producer mid-transaction.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { stringSerializers } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTransactionalProducer } from '../../kafka/clients.js'
import { createTestTopics, deleteTestTopics, readTopic } from '../support/kafka.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const committedTopic = `${prefix}-seed`
const crashTopic = `${prefix}-crash`

beforeAll(() => createTestTopics(config, [committedTopic, crashTopic], 3))
afterAll(() => deleteTestTopics(config, [committedTopic, crashTopic]))

describe('transactional produce', () => {
  it('shows read_committed readers the committed transaction only, and read_uncommitted both', async () => {
    const producer = createTransactionalProducer(config.kafka, `${prefix}-seed`, {
      serializers: stringSerializers,
    })
    try {
      const committed = await producer.beginTransaction()
      await committed.send({
        messages: ['a', 'b', 'c'].map((k) => ({ topic: committedTopic, key: k, value: `committed-${k}` })),
      })
      await committed.commit()
      const aborted = await producer.beginTransaction()
      await aborted.send({
        messages: ['d', 'e'].map((k) => ({ topic: committedTopic, key: k, value: `aborted-${k}` })),
      })
      await aborted.abort()
    } finally {
      await producer.close()
    }

    const readCommitted = await readTopic(config, committedTopic, {
      expected: 3,
      isolation: 'read_committed',
    })
    expect(readCommitted.map((r) => r.value).sort()).toEqual(['committed-a', 'committed-b', 'committed-c'])
    const readAll = await readTopic(config, committedTopic, { expected: 5, isolation: 'read_uncommitted' })
    expect(readAll.map((r) => r.value).sort()).toEqual([
      'aborted-d',
      'aborted-e',
      'committed-a',
      'committed-b',
      'committed-c',
    ])
  })

  it('lets a producer restarted under the same transactional id work after a SIGKILL mid-transaction', async () => {
    const transactionalId = `${prefix}-crash`
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('../support/fixtures/open-transaction.ts', import.meta.url)),
        transactionalId,
        crashTopic,
        '20',
      ],
      { env: { ...process.env, ...stackEnv() }, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.setEncoding('utf8')
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        out += chunk
        if (out.includes('SENT')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)))
    })
    child.kill('SIGKILL')
    await once(child, 'exit')

    // The dead producer's records are in the log (so the check below is not vacuous) ...
    const written = await readTopic(config, crashTopic, {
      expected: 20,
      isolation: 'read_uncommitted',
      quietMs: 300,
    })
    expect(written.filter((r) => r.value.startsWith('doomed-'))).toHaveLength(20)

    // ... and the same transactional id starts again at once: its open transaction is aborted.
    const producer = createTransactionalProducer(config.kafka, transactionalId, {
      serializers: stringSerializers,
    })
    try {
      const transaction = await producer.beginTransaction()
      await transaction.send({
        messages: Array.from({ length: 5 }, (_, i) => ({
          topic: crashTopic,
          key: `k${i}`,
          value: `survivor-${i}`,
        })),
      })
      await transaction.commit()
    } finally {
      await producer.close()
    }

    const visible = await readTopic(config, crashTopic, { expected: 5, isolation: 'read_committed' })
    expect(visible.map((r) => r.value).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `survivor-${i}`))
  })
})
