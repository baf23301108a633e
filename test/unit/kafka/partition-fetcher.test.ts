// The read_committed filter: Kafka's rule, batch by batch, for the cases the client's own filter gets
// wrong (several aborted transactions of one producer in a response; an abort marker beyond it).
import type { RecordsBatch } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { committedBatches } from '../../../kafka/partition-fetcher.js'

const TRANSACTIONAL = 0x10
const CONTROL = 0x20

function batch(
  firstOffset: number,
  count: number,
  producerId: bigint,
  attributes = TRANSACTIONAL,
): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: count - 1,
    firstTimestamp: 0n,
    maxTimestamp: 0n,
    producerId,
    producerEpoch: 0,
    firstSequence: 0,
    records: Array.from({ length: count }, (_, i) => ({
      length: 0,
      attributes: 0,
      timestampDelta: 0n,
      offsetDelta: i,
      key: Buffer.from(`k${firstOffset + i}`),
      value: null,
      headers: [],
    })),
  }
}

function marker(offset: number, producerId: bigint, type: 0 | 1): RecordsBatch {
  const b = batch(offset, 1, producerId, TRANSACTIONAL | CONTROL)
  const key = Buffer.alloc(4)
  key.writeInt16BE(0, 0)
  key.writeInt16BE(type, 2)
  ;(b.records[0] as { key: Buffer }).key = key
  return b
}

const offsets = (batches: RecordsBatch[]) =>
  batches.filter((b) => (b.attributes & CONTROL) === 0).map((b) => Number(b.firstOffset))

describe('committedBatches', () => {
  it('drops every aborted transaction of a producer, not only its last one', () => {
    const p = 7n
    const batches = [
      batch(0, 2, p),
      marker(2, p, 0),
      batch(3, 2, p),
      marker(5, p, 1),
      batch(6, 2, p),
      marker(8, p, 0),
    ]
    const aborted = [
      { producerId: p, firstOffset: 0n },
      { producerId: p, firstOffset: 6n },
    ]
    expect(offsets(committedBatches(batches, aborted))).toEqual([3])
  })

  it('keeps a committed transaction followed by an abort marker written alone (no aborted records)', () => {
    // The broker lists only the first abort: the second aborted a transaction that wrote nothing here.
    const p = 11n
    const batches = [batch(0, 2, p), marker(2, p, 0), batch(3, 3, p), marker(6, p, 1), marker(7, p, 0)]
    expect(offsets(committedBatches(batches, [{ producerId: p, firstOffset: 0n }]))).toEqual([3])
  })

  it('drops an aborted transaction whose marker is not in this response', () => {
    const p = 9n
    const batches = [batch(0, 3, 1n), batch(3, 2, p), batch(5, 2, p)]
    expect(offsets(committedBatches(batches, [{ producerId: p, firstOffset: 3n }]))).toEqual([0])
  })

  it('keeps other producers and non-transactional batches inside an aborted range', () => {
    const p = 3n
    const batches = [batch(0, 1, p), batch(1, 1, 4n), batch(2, 1, p, 0), marker(3, p, 0), batch(4, 1, p)]
    expect(offsets(committedBatches(batches, [{ producerId: p, firstOffset: 0n }]))).toEqual([1, 2, 4])
  })
})
