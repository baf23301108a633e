// Kafka helpers for integration tests: read a topic back from the start with a chosen isolation
// level, and create/delete a test file's own topics.
import { FetchIsolationLevels, MessagesStreamModes } from '@platformatic/kafka'
import type { Config } from '../../config/config.js'
import { createAdmin, createConsumer } from '../../kafka/clients.js'

export interface ReadRecord {
  key: string
  value: string
  partition: number
  offset: bigint
}

export interface RawRecord {
  topic: string
  key: Buffer | undefined
  value: Buffer | undefined
  headers: Map<Buffer, Buffer>
  timestamp: bigint
  partition: number
  offset: bigint
}

interface ReadOptions {
  expected: number
  isolation: 'read_committed' | 'read_uncommitted'
  quietMs?: number
  timeoutMs?: number
}

/**
 * Reads `topic` from the earliest offset in a throwaway group until `expected` records arrived and
 * no further record came for `quietMs` (so that extra records fail the test instead of hiding),
 * or until `timeoutMs`.
 */
export async function readTopic(config: Config, topic: string, options: ReadOptions): Promise<ReadRecord[]> {
  return (await readTopicRaw(config, topic, options)).map((r) => ({
    key: r.key?.toString() ?? '',
    value: r.value?.toString() ?? '',
    partition: r.partition,
    offset: r.offset,
  }))
}

/** As readTopic, from one or more topics, with the bytes, headers and timestamps as they are in the log. */
export async function readTopicRaw(
  config: Config,
  topic: string | string[],
  options: ReadOptions,
): Promise<RawRecord[]> {
  const topics = Array.isArray(topic) ? topic : [topic]
  const consumer = createConsumer(config.kafka, `${topics[0]}-reader-${Date.now()}`, {
    isolationLevel:
      options.isolation === 'read_committed'
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED,
    maxWaitTime: 200,
  })
  const records: RawRecord[] = []
  const quietMs = options.quietMs ?? 1000
  try {
    const stream = await consumer.consume({
      topics,
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    })
    await new Promise<void>((resolve) => {
      let quiet: NodeJS.Timeout | undefined
      const deadline = setTimeout(resolve, options.timeoutMs ?? 20_000)
      const settle = () => {
        clearTimeout(quiet)
        quiet = setTimeout(() => {
          clearTimeout(deadline)
          resolve()
        }, quietMs)
      }
      stream.on('data', (m) => {
        records.push({
          topic: m.topic,
          key: m.key ?? undefined,
          value: m.value ?? undefined,
          headers: m.headers,
          timestamp: m.timestamp,
          partition: m.partition,
          offset: m.offset,
        })
        if (records.length >= options.expected) settle()
      })
      if (options.expected === 0) settle()
    })
    await stream.close()
  } finally {
    await consumer.close(true)
  }
  return records
}

export async function createTestTopics(config: Config, topics: string[], partitions = 1): Promise<void> {
  const admin = createAdmin(config.kafka, 'test')
  try {
    await admin.createTopics({ topics, partitions, replicas: 1 })
  } finally {
    await admin.close()
  }
}

export async function deleteTestTopics(config: Config, topics: string[]): Promise<void> {
  const admin = createAdmin(config.kafka, 'test')
  try {
    const present = new Set(await admin.listTopics())
    const mine = topics.filter((t) => present.has(t))
    if (mine.length > 0) await admin.deleteTopics({ topics: mine })
  } finally {
    await admin.close()
  }
}
