// The input of the integration tests' counting topologies: `n` records over `keys` keys, key w<i mod
// keys> (counting on from record `from`), value 'x'; and the count per key the first `total` make.
import type { Config } from '../../config/config.js'
import { createProducer } from '../../kafka/clients.js'

export async function produceWords(
  config: Config,
  topic: string,
  options: { n: number; from: number; keys: number; clientId: string },
): Promise<void> {
  const { n, from, keys, clientId } = options
  const producer = createProducer(config.kafka, { clientId })
  try {
    const messages = Array.from({ length: n }, (_, i) => ({
      topic,
      key: Buffer.from(`w${(from + i) % keys}`),
      value: Buffer.from('x'),
    }))
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({ messages: messages.slice(i, i + 500) })
  } finally {
    await producer.close()
  }
}

/** The count per key of the first `total` words, keys in order. */
export function wordCounts(total: number, keys: number): Record<string, number> {
  const out: Record<string, number> = {}
  for (let i = 0; i < total; i++) out[`w${i % keys}`] = (out[`w${i % keys}`] ?? 0) + 1
  return Object.fromEntries(Object.entries(out).sort())
}
