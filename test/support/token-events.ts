// Input for the runtime's tests: token-usage records (key agent-<n>, value an 8-byte count of tokens,
// timestamps advancing 1 ms per record) and the naive reference of their windowed count and sum.
import type { Config } from '../../config/config.js'
import { createProducer, keyPartition } from '../../kafka/clients.js'
import type { CountSum } from './token-windows-app.js'

export interface TokenEvent {
  key: string
  tokens: number
  timestamp: number
}

export const BASE_TIME = Date.UTC(2026, 0, 1)

export function tokenEvents(count: number, keys: number, seed = 1): TokenEvent[] {
  let state = seed >>> 0 || 1
  const next = () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
  return Array.from({ length: count }, (_, i) => ({
    key: `agent-${Math.floor(next() * keys)}`,
    tokens: 1 + Math.floor(next() * 1000),
    timestamp: BASE_TIME + i,
  }))
}

export function longBytes(value: number): Buffer {
  const out = Buffer.alloc(8)
  out.writeBigInt64BE(BigInt(value))
  return out
}

export async function produceTokenEvents(
  config: Config,
  topic: string,
  events: readonly TokenEvent[],
  extra: { key: string; value: Buffer; timestamp: number; partition?: number }[] = [],
): Promise<void> {
  const producer = createProducer(config.kafka, { clientId: 'token-events' })
  try {
    const messages = [
      ...events.map((e) => ({
        topic,
        key: Buffer.from(e.key),
        value: longBytes(e.tokens),
        timestamp: BigInt(e.timestamp),
      })),
      ...extra.map((e) => ({
        topic,
        key: Buffer.from(e.key),
        value: e.value,
        timestamp: BigInt(e.timestamp),
        ...(e.partition === undefined ? {} : { partition: e.partition }),
      })),
    ]
    for (let i = 0; i < messages.length; i += 5000)
      await producer.send({ messages: messages.slice(i, i + 5000) })
  } finally {
    await producer.close()
  }
}

/**
 * Records with a timestamp far past every window, one per partition, so every window closes. Each key
 * hashes to the partition it is written to, so they also reach every partition of a repartition topic
 * with as many partitions (an application that re-keys before its windows).
 */
export function closingRecords(
  partitions: number,
  after: number,
): { key: string; value: Buffer; timestamp: number; partition: number }[] {
  return Array.from({ length: partitions }, (_, p) => {
    let i = p
    while (keyPartition(Buffer.from(`closer-${i}`), partitions) !== p) i += partitions
    return { key: `closer-${i}`, value: longBytes(0), timestamp: after + 10 * 60_000, partition: p }
  })
}

/** `key@windowStart` -> count and sum, as a naive reading of the input gives them. */
export function referenceWindows(events: readonly TokenEvent[], windowMs: number): Map<string, CountSum> {
  const out = new Map<string, CountSum>()
  for (const e of events) {
    const id = `${e.key}@${Math.floor(e.timestamp / windowMs) * windowMs}`
    const agg = out.get(id) ?? { count: 0, sum: 0 }
    agg.count++
    agg.sum += e.tokens
    out.set(id, agg)
  }
  return out
}
