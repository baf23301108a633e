// What crosses to the producer thread: the packed records (every field of every record, byte for
// byte) and, coming back, errors that the runtime classifies exactly as it classifies the client's own.
import { describe, expect, it } from 'vitest'
import { classifyCommitError, errorText } from '../../../topology/runtime/commit-errors.js'
import type { OutgoingRecord } from '../../../topology/runtime/committer.js'
import {
  fromErrorTree,
  packRecords,
  toErrorTree,
  unpackRecords,
} from '../../../topology/runtime/producer-thread.js'

// What the client reads of a record, headers as [key, value] strings.
function view(record: OutgoingRecord) {
  const headers =
    record.headers instanceof Map
      ? [...record.headers].map(([k, v]) => [k.toString(), v.toString('hex')])
      : Object.entries(record.headers ?? {}).map(([k, v]) => [k, v.toString('hex')])
  return {
    topic: record.topic,
    partition: record.partition,
    timestamp: record.timestamp,
    key: record.key?.toString('hex'),
    value: record.value?.toString('hex'),
    headers,
  }
}

// Through a structured clone with the buffer transferred, as postMessage hands it to the worker.
function acrossThreads(records: OutgoingRecord[]): OutgoingRecord[] {
  const packed = packRecords(records)
  const received = structuredClone(packed, { transfer: [packed.buffer] })
  expect(packed.buffer.byteLength).toBe(0)
  return unpackRecords(received)
}

describe('packRecords / unpackRecords', () => {
  it('gives back every field of every record, absent ones absent', () => {
    const records: OutgoingRecord[] = [
      { topic: 'out', key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: 1_700_000_000_123n },
      // A tombstone on a changelog partition.
      { topic: 'app-store-changelog', key: Buffer.from('k2'), partition: 7, timestamp: 5n },
      // No key: the producer partitions it; empty buffers are not absent ones.
      { topic: 'out', value: Buffer.alloc(0) },
      { topic: 'dlq', key: Buffer.alloc(0), value: Buffer.from([0, 255, 1]), partition: 0 },
      {
        topic: 'dlq',
        key: Buffer.from('bad'),
        value: Buffer.from('bytes'),
        timestamp: 0n,
        headers: new Map([
          [Buffer.from('error.message'), Buffer.from('héllo ✓')],
          [Buffer.from('empty'), Buffer.alloc(0)],
        ]),
      },
      { topic: 'late', value: Buffer.from('x'), headers: { 'late.store': Buffer.from('tokens') } },
    ]
    const back = acrossThreads(records)
    expect(back.map(view)).toEqual(records.map(view))
    expect(back[1]?.value).toBeUndefined()
    expect(back[2]?.key).toBeUndefined()
    expect(back[2]?.partition).toBeUndefined()
    expect(back[2]?.timestamp).toBeUndefined()
    // Headers given as an object arrive as a Map (the client takes both).
    expect(back[5]?.headers).toBeInstanceOf(Map)
  })

  it('packs a large batch over many topics into one buffer, record order kept', () => {
    const records: OutgoingRecord[] = Array.from({ length: 5000 }, (_, i) => ({
      topic: `topic-${i % 37}`,
      key: Buffer.from(`key-${i}`),
      value: Buffer.alloc(i % 300, i % 256),
      partition: i % 8,
      timestamp: BigInt(1_700_000_000_000 + i),
    }))
    const packed = packRecords(records)
    expect(packed.topics).toHaveLength(37)
    expect(packed.count).toBe(5000)
    expect(unpackRecords(packed).map(view)).toEqual(records.map(view))
  })

  it('packs nothing into an empty batch', () => {
    expect(acrossThreads([])).toEqual([])
  })
})

describe('errors from the producer thread', () => {
  // The client's nesting: MultipleErrors -> ResponseError -> ProtocolError, the protocol id in apiId.
  function clientError(apiId: string): Error {
    const protocol = Object.assign(new Error(`Received response with error ${apiId}`), {
      name: 'ProtocolError',
      apiId,
      code: 'PLT_KFK_PROTOCOL',
    })
    const response = Object.assign(
      new Error('Received response with error while executing API AddPartitionsToTxn(v3)'),
      {
        name: 'ResponseError',
        code: 'PLT_KFK_RESPONSE',
        errors: [protocol],
      },
    )
    return Object.assign(new Error('Producing messages failed.', { cause: new Error('socket') }), {
      name: 'MultipleErrors',
      code: 'PLT_KFK_MULTIPLE',
      errors: [response],
    })
  }

  it.each([
    'PRODUCER_FENCED',
    'INVALID_PRODUCER_EPOCH',
    'ILLEGAL_GENERATION',
    'MESSAGE_TOO_LARGE',
    'UNKNOWN_SERVER_ERROR',
  ])('classifies %s as the same error on the processing thread would be', (apiId) => {
    const original = clientError(apiId)
    const tree = toErrorTree(original)
    const back = fromErrorTree(structuredClone(tree))
    expect(back).toBeInstanceOf(Error)
    expect(back.name).toBe('MultipleErrors')
    expect(back.stack).toBe(original.stack)
    expect(errorText(back)).toBe(errorText(original))
    expect(classifyCommitError(back)).toBe(classifyCommitError(original))
  })

  it('turns what is not an Error into a message', () => {
    expect(fromErrorTree(toErrorTree('a string')).message).toBe('a string')
    expect(fromErrorTree(toErrorTree(undefined)).message).toBe('undefined')
  })
})
