// The binary fixture format: records exactly as they go to Kafka (key and value bytes), so a fixture
// can be replayed by any producer (kafkajs, kcat) and decoded by the serdes byte for byte.
//
//   file    := magic "APEV" (4 bytes ASCII) | format version (1 byte, = 1) | record*
//   record  := topic length (uint16 BE) | topic (UTF-8)
//            | timestamp (int64 BE, epoch ms: the Kafka record timestamp, = event time)
//            | key length (uint32 BE) | key (UTF-8 entity id)
//            | value length (uint32 BE) | value (encoded event, registry or single-object framing)
import { SchemaError } from '../errors.js'

export interface FixtureRecord {
  topic: string
  key: Buffer
  value: Buffer
  timestamp: number
}

export const FIXTURE_MAGIC = Buffer.from('APEV', 'ascii')
export const FIXTURE_VERSION = 1

export function fixtureFileHeader(): Buffer {
  return Buffer.concat([FIXTURE_MAGIC, Buffer.from([FIXTURE_VERSION])])
}

export function encodeFixtureRecord(record: FixtureRecord): Buffer {
  const topic = Buffer.from(record.topic, 'utf8')
  const out = Buffer.allocUnsafe(2 + topic.length + 8 + 4 + record.key.length + 4 + record.value.length)
  let at = out.writeUInt16BE(topic.length, 0)
  at += topic.copy(out, at)
  at = out.writeBigInt64BE(BigInt(record.timestamp), at)
  at = out.writeUInt32BE(record.key.length, at)
  at += record.key.copy(out, at)
  at = out.writeUInt32BE(record.value.length, at)
  record.value.copy(out, at)
  return out
}

/** Every record of a whole binary fixture file; throws INVALID_OPTIONS on a bad or cut file. */
export function decodeFixtureFile(bytes: Buffer): FixtureRecord[] {
  if (bytes.length < 5 || !bytes.subarray(0, 4).equals(FIXTURE_MAGIC) || bytes[4] !== FIXTURE_VERSION) {
    throw new SchemaError('INVALID_OPTIONS', 'not a binary fixture file (magic APEV, version 1)')
  }
  const records: FixtureRecord[] = []
  let at = 5
  const need = (n: number) => {
    if (at + n > bytes.length)
      throw new SchemaError('INVALID_OPTIONS', `fixture file cut at byte ${bytes.length}`)
  }
  while (at < bytes.length) {
    need(2)
    const topicLength = bytes.readUInt16BE(at)
    need(2 + topicLength + 12)
    const topic = bytes.toString('utf8', at + 2, at + 2 + topicLength)
    at += 2 + topicLength
    const timestamp = Number(bytes.readBigInt64BE(at))
    const keyLength = bytes.readUInt32BE(at + 8)
    at += 12
    need(keyLength + 4)
    const key = bytes.subarray(at, at + keyLength)
    const valueLength = bytes.readUInt32BE(at + keyLength)
    at += keyLength + 4
    need(valueLength)
    records.push({ topic, key, value: bytes.subarray(at, at + valueLength), timestamp })
    at += valueLength
  }
  return records
}
