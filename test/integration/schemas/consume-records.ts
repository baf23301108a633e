// Reads topics back from the earliest offset as raw bytes (key, value, partition, timestamp), for the
// schema integration tests: until `expected` records arrived and none followed for a quiet moment.
import { MessagesStreamModes } from '@platformatic/kafka'
import type { Config } from '../../../config/config.js'
import { createConsumer } from '../../../kafka/clients.js'

export interface RawRecord {
  topic: string
  partition: number
  offset: bigint
  key: Buffer
  value: Buffer
  timestamp: number
}

export async function consumeRecords(
  config: Config,
  topics: string[],
  expected: number,
  options: { quietMs?: number; timeoutMs?: number } = {},
): Promise<RawRecord[]> {
  const consumer = createConsumer(config.kafka, `${topics[0]}-reader-${Date.now()}`, { maxWaitTime: 200 })
  const records: RawRecord[] = []
  try {
    const stream = await consumer.consume({ topics, mode: MessagesStreamModes.EARLIEST, autocommit: false })
    await new Promise<void>((resolve) => {
      let quiet: NodeJS.Timeout | undefined
      const deadline = setTimeout(resolve, options.timeoutMs ?? 30_000)
      stream.on('data', (m) => {
        records.push({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          key: m.key ?? Buffer.alloc(0),
          value: m.value ?? Buffer.alloc(0),
          timestamp: Number(m.timestamp),
        })
        if (records.length >= expected) {
          clearTimeout(quiet)
          quiet = setTimeout(() => {
            clearTimeout(deadline)
            resolve()
          }, options.quietMs ?? 1000)
        }
      })
    })
    await stream.close()
  } finally {
    await consumer.close(true)
  }
  return records
}
