// The schema integration tests' view of records read back from their topics: keys and values as
// bytes (empty when absent), timestamps as numbers. Reading is test/support/kafka.ts's readTopicRaw.
import type { Config } from '../../../config/config.js'
import { readTopicRaw } from '../../support/kafka.js'

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
  const records = await readTopicRaw(config, topics, {
    expected,
    isolation: 'read_committed',
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.quietMs === undefined ? {} : { quietMs: options.quietMs }),
  })
  return records.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    key: r.key ?? Buffer.alloc(0),
    value: r.value ?? Buffer.alloc(0),
    timestamp: Number(r.timestamp),
  }))
}
