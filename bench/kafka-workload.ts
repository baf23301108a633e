// What the Kafka benchmarks (P1, P2) share: the local stack's configuration, command-line options, the
// P2 workload's record (Avro TokenUsage) and its generator, and the client's raw consume rate.
import { resolve } from 'node:path'
import { MessagesStreamModes } from '@platformatic/kafka'
import avsc from 'avsc'
import { loadConfig } from '../config/config.js'
import { readStackEnv } from '../deploy/local/stack.js'
import { createAdmin, createConsumer, createProducer } from '../kafka/clients.js'
import { recreateTopic } from '../kafka/topics.js'
import type { Serde } from '../topology/index.js'

const argv = process.argv

/** `--name value` on the command line, else the environment variable. */
export function option(name: string, env: string): string | undefined {
  const at = argv.indexOf(`--${name}`)
  return at >= 0 ? argv[at + 1] : process.env[env]
}

export function flag(name: string): boolean {
  return argv.includes(`--${name}`)
}

export { machineLoad } from './machine.js'

export const KEYS = 10_000
export const PARTITIONS = 8
export const BASE_TIME = Date.UTC(2026, 0, 1)

export const TOKEN_USAGE = avsc.Type.forSchema({
  type: 'record',
  name: 'TokenUsage',
  namespace: 'bench',
  fields: [
    { name: 'agent_id', type: 'string' },
    { name: 'tokens', type: 'long' },
    { name: 'occurred_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
})

export interface TokenUsage {
  agent_id: string
  tokens: number
  occurred_at: number
}

export const tokenUsageSerde: Serde<TokenUsage> = {
  serialize: (_topic, value) => TOKEN_USAGE.toBuffer(value),
  deserialize: (_topic, bytes) => TOKEN_USAGE.fromBuffer(bytes) as TokenUsage,
}

const stackEnv = readStackEnv(resolve(process.env.AGENT_PARTY_STACK_DIR ?? '.stack', 'stack.env')) ?? {}
export const config = loadConfig({ ...stackEnv, ...process.env })

export function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

/** Writes the P2 workload into `topic`, recreated with 8 partitions and retention.ms=-1. */
export async function generateTokens(topic: string, records: number): Promise<void> {
  const admin = createAdmin(config.kafka, 'bench')
  try {
    await recreateTopic(admin, topic, PARTITIONS, 1, { 'retention.ms': '-1' })
  } finally {
    await admin.close()
  }
  const producer = createProducer(config.kafka, { clientId: 'bench-generator' })
  let state = 42
  const started = performance.now()
  try {
    const batch = 10_000
    for (let i = 0; i < records; i += batch) {
      const messages = []
      for (let j = i; j < Math.min(records, i + batch); j++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0
        const agent = `agent-${state % KEYS}`
        const occurred = BASE_TIME + j
        messages.push({
          topic,
          key: Buffer.from(agent),
          value: TOKEN_USAGE.toBuffer({ agent_id: agent, tokens: 1 + (j % 1000), occurred_at: occurred }),
          timestamp: BigInt(occurred),
        })
      }
      await producer.send({ messages })
    }
  } finally {
    await producer.close()
  }
  log(`generated ${records} records into ${topic} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}

// The client's own consume path (MessagesStream, no decoding): the ceiling the engine is compared with.
export async function rawConsumeRate(topic: string, records: number): Promise<number> {
  const consumer = createConsumer(config.kafka, `bench-raw-${Date.now()}`)
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    })
    let count = 0
    let first = 0
    const elapsed = await new Promise<number>((done) => {
      stream.on('data', () => {
        if (count === 0) first = performance.now()
        if (++count === records) done(performance.now() - first)
      })
    })
    await stream.close()
    return records / (elapsed / 1000)
  } finally {
    await consumer.close(true)
  }
}

/** The P2 aggregate: count and sum, 8-byte big-endian count then sum (the runtime tests' workload). */
export { type CountSum, countSumSerde } from '../test/support/token-windows-app.js'

// Reads the output back: the last count and sum of every window must add up to the input.
