// The archive's object format: one Avro object container file per (topic, partition, offset range),
// built so that the same records always give the same bytes (a retried or rebuilt upload has the
// same name and the same sha256), and the names of objects and manifests.
//
// Container layout (Avro 1.x "Object Container Files"):
//   header: 'O' 'b' 'j' 0x01 | metadata map<bytes> | sync (16 bytes)
//   blocks: count long | size long | records (deflated when codec = deflate) | sync
// Determinism: the sync marker is the first 16 bytes of sha256("agent-party-archive", topic,
// partition, first) instead of avsc's random one; the metadata holds only the schema, the codec and
// the range (no clock, no host); a block is cut when its encoded records reach BLOCK_BYTES; deflate
// runs at a fixed level (zlib is deterministic for a given input, level and zlib build). The bytes
// are written here, synchronously, rather than through avsc's BlockEncoder stream: avsc 5.7.9 leaves
// the encoder's block index undefined, so its ordered block queue does not order, and the stream
// adds nothing; the unit test checks the output equals BlockEncoder's for the same sync marker and
// that avsc's BlockDecoder reads it.
//
// Record schema (agentparty.archive.ArchivedRecord): offset long, timestamp long, key bytes?,
// value bytes?, headers array<{key string, value bytes?}> (in the order the fetch gave them).
import { createHash } from 'node:crypto'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import avsc, { type Schema } from 'avsc'
import { avroType } from '../../schemas/bounded-avro-types.js'

export const ARCHIVED_RECORD_SCHEMA = {
  type: 'record',
  name: 'ArchivedRecord',
  namespace: 'agentparty.archive',
  doc: 'One Kafka record as it was in the log: its bytes, headers, timestamp and offset.',
  fields: [
    { name: 'offset', type: 'long' },
    { name: 'timestamp', type: 'long' },
    { name: 'key', type: ['null', 'bytes'], default: null },
    { name: 'value', type: ['null', 'bytes'], default: null },
    {
      name: 'headers',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'ArchivedHeader',
          fields: [
            { name: 'key', type: 'string' },
            { name: 'value', type: ['null', 'bytes'], default: null },
          ],
        },
      },
      default: [],
    },
  ],
} as const satisfies Schema

export interface ArchivedHeader {
  readonly key: string
  readonly value: Buffer | null
}

export interface ArchivedRecord {
  readonly offset: number
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: readonly ArchivedHeader[]
}

export type ArchiveCodec = 'deflate' | 'null'

export interface RangeId {
  readonly topic: string
  readonly partition: number
  /** First offset of the range (inclusive); the records are those present in [first, last]. */
  readonly first: number
  readonly last: number
}

/** Uncompressed bytes of records after which a block is cut (avsc's default block size). */
export const BLOCK_BYTES = 65_536
/** zlib level of the deflate codec: part of the format (another level gives other bytes). */
export const DEFLATE_LEVEL = 6
const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01])
const OFFSET_DIGITS = 20

const recordType = avroType(ARCHIVED_RECORD_SCHEMA as unknown as Schema)
const metadataType = avsc.Type.forSchema({ type: 'map', values: 'bytes' })
const longType = avsc.Type.forSchema('long')
const SCHEMA_JSON = Buffer.from(JSON.stringify(ARCHIVED_RECORD_SCHEMA))

/** The sync marker of a range's file: fixed by where the range is, so rebuilding it gives the same bytes. */
export function syncMarker(topic: string, partition: number, first: number): Buffer {
  return createHash('sha256')
    .update(`agent-party-archive\u0000${topic}\u0000${partition}\u0000${first}`)
    .digest()
    .subarray(0, 16)
}

export function padOffset(offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`not an offset: ${offset}`)
  return String(offset).padStart(OFFSET_DIGITS, '0')
}

/** `<prefix><topic>/<partition>/`: where a partition's objects and manifest live. */
export function partitionDir(prefix: string, topic: string, partition: number): string {
  return `${prefix}${topic}/${partition}/`
}

export function objectKey(prefix: string, range: RangeId): string {
  return `${partitionDir(prefix, range.topic, range.partition)}${padOffset(range.first)}-${padOffset(range.last)}.avro`
}

export function manifestKey(prefix: string, topic: string, partition: number): string {
  return `${partitionDir(prefix, topic, partition)}manifest.json`
}

const OBJECT_NAME = /^(\d{20})-(\d{20})\.avro$/

/** The range of an object from its name within the partition's folder, or undefined for other names. */
export function parseObjectName(name: string): { first: number; last: number } | undefined {
  const match = OBJECT_NAME.exec(name)
  if (!match) return undefined
  return { first: Number(match[1]), last: Number(match[2]) }
}

/** Encodes the records of one range (offset order, each within [first, last]) as a container file. */
export function encodeRange(range: RangeId, records: readonly ArchivedRecord[], codec: ArchiveCodec): Buffer {
  const sync = syncMarker(range.topic, range.partition, range.first)
  const metadata = {
    'avro.schema': SCHEMA_JSON,
    'avro.codec': Buffer.from(codec),
    'agentparty.topic': Buffer.from(range.topic),
    'agentparty.partition': Buffer.from(String(range.partition)),
    'agentparty.first': Buffer.from(String(range.first)),
    'agentparty.last': Buffer.from(String(range.last)),
  }
  const parts: Buffer[] = [MAGIC, metadataType.toBuffer(metadata), sync]
  let block: Buffer[] = []
  let blockBytes = 0
  const flush = () => {
    if (block.length === 0) return
    const raw = Buffer.concat(block, blockBytes)
    const data = codec === 'deflate' ? deflateRawSync(raw, { level: DEFLATE_LEVEL }) : raw
    parts.push(longType.toBuffer(block.length), longType.toBuffer(data.length), data, sync)
    block = []
    blockBytes = 0
  }
  let previous = range.first - 1
  for (const record of records) {
    if (record.offset <= previous || record.offset > range.last) {
      throw new RangeError(
        `record ${record.offset} is out of order or outside ${range.topic}-${range.partition} [${range.first}, ${range.last}]`,
      )
    }
    previous = record.offset
    const bytes = recordType.toBuffer(record)
    block.push(bytes)
    blockBytes += bytes.length
    if (blockBytes >= BLOCK_BYTES) flush()
  }
  flush()
  return Buffer.concat(parts)
}

export class ArchiveFormatError extends Error {
  readonly code = 'ARCHIVE_FORMAT'
  constructor(message: string) {
    super(message)
    this.name = 'ArchiveFormatError'
  }
}

export interface DecodedRange {
  readonly metadata: Readonly<Record<string, Buffer>>
  readonly records: ArchivedRecord[]
}

/** Reads a container file written by encodeRange (or any file of the same schema, null or deflate). */
export function decodeRange(bytes: Buffer): DecodedRange {
  if (bytes.length < MAGIC.length + 17 || !bytes.subarray(0, 4).equals(MAGIC)) {
    throw new ArchiveFormatError('not an Avro object container file')
  }
  let pos = 4
  const readLong = (): number => {
    const { value, offset } = longType.decode(bytes, pos)
    if (offset < 0 || typeof value !== 'number') throw new ArchiveFormatError('truncated container file')
    pos = offset
    return value
  }
  const meta = metadataType.decode(bytes, pos)
  if (meta.offset < 0) throw new ArchiveFormatError('truncated container header')
  pos = meta.offset
  const metadata = meta.value as Record<string, Buffer>
  const sync = bytes.subarray(pos, pos + 16)
  pos += 16
  const codec = metadata['avro.codec']?.toString() ?? 'null'
  if (codec !== 'null' && codec !== 'deflate') throw new ArchiveFormatError(`unsupported codec ${codec}`)
  const records: ArchivedRecord[] = []
  while (pos < bytes.length) {
    const count = readLong()
    const size = readLong()
    if (count < 0 || size < 0 || pos + size + 16 > bytes.length) {
      throw new ArchiveFormatError('truncated container block')
    }
    const data = bytes.subarray(pos, pos + size)
    pos += size
    if (!bytes.subarray(pos, pos + 16).equals(sync)) throw new ArchiveFormatError('bad sync marker')
    pos += 16
    const raw = codec === 'deflate' ? inflateRawSync(data) : data
    let at = 0
    for (let i = 0; i < count; i++) {
      const decoded = recordType.decode(raw, at)
      if (decoded.offset < 0) throw new ArchiveFormatError('truncated record in container block')
      at = decoded.offset
      records.push(decoded.value as ArchivedRecord)
    }
    if (at !== raw.length) throw new ArchiveFormatError('trailing bytes in container block')
  }
  return { metadata, records }
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}
