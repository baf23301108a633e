import { describe, expect, it } from 'vitest'
import { chunkPending, SinkRunner } from '../../../sinks/runtime/sink-runner.js'
import type { SinkTarget } from '../../../sinks/runtime/target.js'

const record = (offset: number) => ({ offset, timestamp: 0, key: null, value: offset })
const pending = (topic: string, partition: number, offsets: number[], lastOffset = offsets.at(-1) ?? -1) => ({
  topic,
  partition,
  records: offsets.map(record),
  lastOffset,
  poison: [],
})

describe('batching of pending records', () => {
  it('keeps batches within the size, each partition in offset order, and covers every offset once', () => {
    const batches = chunkPending(
      [pending('a', 0, [1, 2, 3, 4, 5]), pending('a', 1, [10, 11]), pending('b', 0, [7, 9], 12)],
      3,
    )
    expect(batches.map((b) => b.reduce((n, p) => n + p.records.length, 0))).toEqual([3, 3, 3])
    const a0 = batches.flat().filter((p) => p.topic === 'a' && p.partition === 0)
    expect(a0.map((p) => [p.records.map((r) => r.offset), p.lastOffset])).toEqual([
      [[1, 2, 3], 3],
      [[4, 5], 5],
    ])
    // The last part of a partition carries its last fetched offset, beyond its last record.
    const b0 = batches.flat().filter((p) => p.topic === 'b')
    expect(b0.at(-1)?.lastOffset).toBe(12)
    for (const batch of batches) {
      const keys = batch.map((p) => `${p.topic}-${p.partition}`)
      expect(new Set(keys).size).toBe(keys.length)
    }
  })

  it('moves the offset of a partition whose records were all dead-lettered, with an empty batch part', () => {
    expect(chunkPending([pending('a', 0, [], 41)], 10)).toEqual([
      [{ topic: 'a', partition: 0, records: [], lastOffset: 41 }],
    ])
  })

  it('skips partitions that fetched nothing', () => {
    expect(chunkPending([pending('a', 0, [])], 10)).toEqual([])
  })
})

describe('sink runner options', () => {
  const target = { name: 't', topics: ['x'] } as unknown as SinkTarget<unknown>
  const kafka = { bootstrapServers: ['127.0.0.1:9092'], clientId: 'c', replicationFactor: 1 }

  it('refuses sizes that cannot work, naming the option', () => {
    expect(() => new SinkRunner({ kafka, target, batchSize: 0 })).toThrow(/batchSize must be a whole number/)
    expect(() => new SinkRunner({ kafka, target, batchSize: 100, maxBufferedRecords: 10 })).toThrow(
      /maxBufferedRecords \(10\) must be at least batchSize \(100\)/,
    )
    expect(() => new SinkRunner({ kafka, target, lingerMs: -1 })).toThrow(/lingerMs must be >= 0/)
  })

  it('names its group and dead-letter topic after the sink', () => {
    const runner = new SinkRunner({ kafka, target })
    expect(runner.groupId).toBe('agent-party-sink-t')
    expect(runner.deadLetterTopic).toBe('agent-party-sink-t-dlq')
  })
})
