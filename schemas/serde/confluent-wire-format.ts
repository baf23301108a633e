// The Confluent Schema Registry wire format: the header in front of every registry-encoded record.
//
//   offset 0    1 byte   magic byte, always 0x00
//   offset 1    4 bytes  schema id, signed 32-bit big-endian, as the registry assigned it
//   offset 5    ...      Avro binary body, written with that schema
//
// (Java: io.confluent.kafka.serializers.AbstractKafkaSchemaSerDe; the id is global to the registry,
// not to a subject.)
import { DecodeError, type RecordLocation } from '../errors.js'

export const CONFLUENT_MAGIC_BYTE = 0x00
export const CONFLUENT_HEADER_SIZE = 5

export function confluentHeader(schemaId: number): Buffer {
  const header = Buffer.alloc(CONFLUENT_HEADER_SIZE)
  header.writeUInt8(CONFLUENT_MAGIC_BYTE, 0)
  header.writeInt32BE(schemaId, 1)
  return header
}

/** The schema id of a registry-encoded record; throws NOT_AVRO or TRUNCATED on a bad header. */
export function readConfluentSchemaId(bytes: Buffer, location?: RecordLocation): number {
  if (bytes.length === 0)
    throw new DecodeError('TRUNCATED', 'empty value: no wire-format header', { ...location })
  if (bytes[0] !== CONFLUENT_MAGIC_BYTE) {
    throw new DecodeError('NOT_AVRO', `first byte is 0x${hexByte(bytes[0])}, not the magic byte 0x00`, {
      ...location,
    })
  }
  if (bytes.length < CONFLUENT_HEADER_SIZE) {
    throw new DecodeError('TRUNCATED', `${bytes.length} bytes: the wire-format header alone is 5`, {
      ...location,
    })
  }
  return bytes.readInt32BE(1)
}

function hexByte(value: number | undefined): string {
  return (value ?? 0).toString(16).padStart(2, '0')
}
