// The archive's container files: the same records give the same bytes, the bytes are a container
// file avsc writes and reads, and names sort by offset.
import { Readable } from 'node:stream'
import avsc from 'avsc'
import { describe, expect, it } from 'vitest'
import {
  ARCHIVED_RECORD_SCHEMA,
  type ArchivedRecord,
  ArchiveFormatError,
  decodeRange,
  encodeRange,
  manifestKey,
  objectKey,
  padOffset,
  parseObjectName,
  syncMarker,
} from '../../../../sinks/s3/archive-format.js'

const range = { topic: 'agent_events', partition: 3, first: 100, last: 250 }

function records(count: number, from = 100, step = 3, valueBytes = 40): ArchivedRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    offset: from + i * step,
    timestamp: 1_700_000_000_000 + i,
    key: i % 7 === 0 ? null : Buffer.from(`agent-${i % 11}`),
    value: i % 13 === 5 ? null : Buffer.from(`v${i}`.padEnd(valueBytes, String.fromCharCode(97 + (i % 26)))),
    headers:
      i % 2 === 0
        ? [
            { key: 'trace', value: Buffer.from(`t${i}`) },
            { key: 'x', value: null },
          ]
        : [],
  }))
}

async function avscDecode(bytes: Buffer): Promise<{ records: unknown[]; metadata: Record<string, Buffer> }> {
  const decoder = new avsc.streams.BlockDecoder()
  let metadata: Record<string, Buffer> = {}
  decoder.on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
    metadata = header.meta
  })
  const out: unknown[] = []
  Readable.from([bytes]).pipe(decoder)
  for await (const value of decoder) out.push(value)
  return { records: out, metadata }
}

async function avscEncode(values: readonly ArchivedRecord[], sync: Buffer, codec: string): Promise<Buffer> {
  const encoder = new avsc.streams.BlockEncoder(
    ARCHIVED_RECORD_SCHEMA as unknown as avsc.Schema,
    {
      codec,
      syncMarker: sync,
      metadata: {
        'agentparty.topic': Buffer.from(range.topic),
        'agentparty.partition': Buffer.from(String(range.partition)),
        'agentparty.first': Buffer.from(String(range.first)),
        'agentparty.last': Buffer.from(String(range.last)),
      },
    } as never,
  )
  const chunks: Buffer[] = []
  const done = (async () => {
    for await (const chunk of encoder) chunks.push(chunk as Buffer)
  })()
  for (const v of values) encoder.write(v)
  encoder.end()
  await done
  return Buffer.concat(chunks)
}

describe('archive container files', () => {
  it('gives the same bytes for the same records, built twice separately, with either codec', () => {
    for (const codec of ['deflate', 'null'] as const) {
      const a = encodeRange(range, records(50), codec)
      const b = encodeRange({ ...range }, records(50), codec)
      expect(a.equals(b)).toBe(true)
    }
  })

  it('derives the sync marker from topic, partition and first offset only', () => {
    expect(syncMarker('agent_events', 3, 100)).toEqual(syncMarker('agent_events', 3, 100))
    expect(syncMarker('agent_events', 3, 100)).not.toEqual(syncMarker('agent_events', 3, 101))
    expect(syncMarker('agent_events', 3, 100)).not.toEqual(syncMarker('agent_events', 4, 100))
    expect(syncMarker('agent_events', 3, 100)).toHaveLength(16)
    const bytes = encodeRange(range, records(3), 'null')
    expect(bytes.includes(syncMarker('agent_events', 3, 100))).toBe(true)
  })

  it('writes exactly what avsc BlockEncoder writes with the same sync marker (one block)', async () => {
    const values = records(30)
    const sync = syncMarker(range.topic, range.partition, range.first)
    expect(encodeRange(range, values, 'null').equals(await avscEncode(values, sync, 'null'))).toBe(true)
    expect(encodeRange(range, values, 'deflate').equals(await avscEncode(values, sync, 'deflate'))).toBe(true)
  })

  it('is read back by avsc BlockDecoder and by decodeRange, across several deflate blocks', async () => {
    const big = { ...range, last: 100 + 3 * 5_000 }
    const values = records(5_000, 100, 3, 120)
    const bytes = encodeRange(big, values, 'deflate')
    const viaAvsc = await avscDecode(bytes)
    expect(viaAvsc.metadata['agentparty.last']?.toString()).toBe(String(big.last))
    expect(JSON.parse(JSON.stringify(viaAvsc.records))).toEqual(JSON.parse(JSON.stringify(values)))
    const decoded = decodeRange(bytes)
    expect(decoded.records.map((r) => r.offset)).toEqual(values.map((r) => r.offset))
    expect(decoded.records[5]).toMatchObject({ value: null, headers: [] })
    expect(decoded.records[0]?.headers).toEqual([
      { key: 'trace', value: Buffer.from('t0') },
      { key: 'x', value: null },
    ])
    expect(decoded.records[1]?.key).toEqual(Buffer.from('agent-1'))
    // More than one block: the sync marker appears after the header and after each block.
    const sync = syncMarker(big.topic, big.partition, big.first)
    let markers = 0
    for (let at = bytes.indexOf(sync); at >= 0; at = bytes.indexOf(sync, at + 1)) markers++
    expect(markers).toBeGreaterThan(3)
  })

  it('refuses records out of order or outside the range', () => {
    expect(() => encodeRange(range, [...records(2)].reverse(), 'null')).toThrow(RangeError)
    expect(() => encodeRange({ ...range, last: 101 }, records(2), 'null')).toThrow(/outside/)
    expect(() => encodeRange({ ...range, first: 101 }, records(1), 'null')).toThrow(/outside/)
  })

  it('refuses bytes that are not one of its files', () => {
    expect(() => decodeRange(Buffer.from('not avro at all, definitely not'))).toThrow(ArchiveFormatError)
    const bytes = encodeRange(range, records(10), 'deflate')
    expect(() => decodeRange(bytes.subarray(0, bytes.length - 3))).toThrow(ArchiveFormatError)
  })

  it('names objects so that they sort by offset', () => {
    expect(padOffset(42)).toBe('00000000000000000042')
    const key = objectKey('archive/', { topic: 't', partition: 2, first: 9, last: 10 })
    expect(key).toBe('archive/t/2/00000000000000000009-00000000000000000010.avro')
    expect(parseObjectName(key.slice('archive/t/2/'.length))).toEqual({ first: 9, last: 10 })
    expect(parseObjectName('manifest.json')).toBeUndefined()
    expect(manifestKey('', 't', 2)).toBe('t/2/manifest.json')
    const names = [5, 100, 20].map((f) => objectKey('', { topic: 't', partition: 0, first: f, last: f + 1 }))
    expect([...names].sort()).toEqual([names[0], names[2], names[1]])
    expect(() => padOffset(-1)).toThrow(RangeError)
  })
})
