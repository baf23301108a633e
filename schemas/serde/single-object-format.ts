// Avro single-object encoding (Avro spec, "Single object encoding"): the header in front of every
// record when there is no registry. The fingerprint names the writer schema among the versions kept
// in schemas/avro/history.
//
//   offset 0    2 bytes  marker 0xC3 0x01 (the format's magic, version 1)
//   offset 2    8 bytes  CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form,
//                        little-endian
//   offset 10   ...      Avro binary body, written with that schema
import { DecodeError, type RecordLocation } from '../errors.js'

export const SINGLE_OBJECT_MARKER = Buffer.from([0xc3, 0x01])
export const SINGLE_OBJECT_HEADER_SIZE = 10

export function singleObjectHeader(fingerprint: bigint): Buffer {
  const header = Buffer.alloc(SINGLE_OBJECT_HEADER_SIZE)
  SINGLE_OBJECT_MARKER.copy(header, 0)
  header.writeBigUInt64LE(fingerprint, 2)
  return header
}

/** Checks the header of a single-object record; throws NOT_AVRO or TRUNCATED when it is bad. */
export function checkSingleObjectHeader(bytes: Buffer, location?: RecordLocation): void {
  if (bytes.length === 0)
    throw new DecodeError('TRUNCATED', 'empty value: no single-object header', { ...location })
  if (bytes[0] !== 0xc3 || (bytes.length > 1 && bytes[1] !== 0x01)) {
    throw new DecodeError(
      'NOT_AVRO',
      `starts with 0x${bytes.subarray(0, 2).toString('hex')}, not the marker 0xc301`,
      {
        ...location,
      },
    )
  }
  if (bytes.length < SINGLE_OBJECT_HEADER_SIZE) {
    throw new DecodeError('TRUNCATED', `${bytes.length} bytes: the single-object header alone is 10`, {
      ...location,
    })
  }
}
