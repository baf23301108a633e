// Records of agents keyed by id, each agent of one of five templates, for the runtime tests whose
// windowed count per template sits behind a repartition (runtime-backpressure, runtime-alignment).

import type { Config } from '../../config/config.js'
import { createProducer, keyPartition } from '../../kafka/clients.js'

export const TEMPLATES = 5

export const templateOf = (agent: string): string => `tpl-${Number(agent.slice('agent-'.length)) % TEMPLATES}`

/** `perPartition` agents (agent-<n>) whose keys hash to each of the partitions. */
export function agentsByPartition(partitions: number, perPartition = 10): string[][] {
  const byPartition: string[][] = Array.from({ length: partitions }, () => [])
  for (let i = 0; byPartition.some((list) => list.length < perPartition); i++) {
    const agent = `agent-${i}`
    const list = byPartition[keyPartition(Buffer.from(agent), partitions)] as string[]
    if (list.length < perPartition) list.push(agent)
  }
  return byPartition
}

export interface TimedMessage {
  readonly topic: string
  readonly key: string
  readonly value: string
  /** The record timestamp (event time). */
  readonly at: number
}

/** Produces the messages in the order given, `batch` per send. */
export async function sendTimed(
  config: Config,
  clientId: string,
  messages: readonly TimedMessage[],
  batch = 5000,
): Promise<void> {
  const producer = createProducer(config.kafka, { clientId })
  try {
    const all = messages.map((m) => ({
      topic: m.topic,
      key: Buffer.from(m.key),
      value: Buffer.from(m.value),
      timestamp: BigInt(m.at),
    }))
    for (let i = 0; i < all.length; i += batch) await producer.send({ messages: all.slice(i, i + batch) })
  } finally {
    await producer.close()
  }
}
