// How one reader schema reads the body of one writer schema: the reader type directly when both have
// the same Parsing Canonical Form (fastest: no resolver), else an avsc resolver built once, else the
// reason the writer cannot be resolved (kept, so a bad writer costs one failed resolution, not one
// per record). Also the one place that turns avsc's read failures into typed errors.
import type { Resolver, Type } from 'avsc'
import { AvroBodyError } from '../bounded-avro-types.js'
import { DecodeError, type RecordLocation } from '../errors.js'
import { fingerprintHex } from '../rabin-fingerprint.js'

export type WriterReader =
  | { readonly ok: true; readonly reader: Type; readonly resolver: Resolver | undefined }
  | { readonly ok: false; readonly reason: string }

export function planWriterReader(reader: Type, readerCanonical: string, writer: Type): WriterReader {
  if (JSON.stringify(writer.schema()) === readerCanonical) return { ok: true, reader, resolver: undefined }
  try {
    return { ok: true, reader, resolver: reader.createResolver(writer) }
  } catch (error) {
    return { ok: false, reason: (error as Error).message }
  }
}

/** The writer as the record names it: a registry id or a fingerprint. */
export type WriterName = { schemaId: number } | { fingerprint: bigint }

/**
 * Decodes the Avro body that starts at `offset` and must end exactly at the end of `bytes`.
 * avsc reports a body cut short by an offset of -1 (or, for some types, by throwing once it has
 * read past the end); the bounded arrays and maps throw AvroBodyError with TRUNCATED (a count of
 * items the bytes left cannot hold) or MALFORMED_BODY; anything else avsc throws on, and bytes left
 * over, are a malformed body.
 */
export function decodeBody<T>(
  plan: WriterReader,
  bytes: Buffer,
  offset: number,
  location: RecordLocation | undefined,
  writer: WriterName,
): T {
  if (!plan.ok) {
    throw new DecodeError(
      'INCOMPATIBLE_WRITER_SCHEMA',
      `cannot resolve the writer schema ${describeWriter(writer)}: ${plan.reason}`,
      { ...location, ...identify(writer) },
    )
  }
  let decoded: { value: unknown; offset: number }
  try {
    decoded = plan.reader.decode(bytes, offset, plan.resolver)
  } catch (cause) {
    const code = cause instanceof AvroBodyError ? cause.code : 'MALFORMED_BODY'
    const what = code === 'TRUNCATED' ? 'ends early' : 'unreadable'
    throw new DecodeError(
      code,
      `Avro body ${what} with writer ${describeWriter(writer)}: ${(cause as Error).message}`,
      {
        ...location,
        ...identify(writer),
        cause,
      },
    )
  }
  if (decoded.offset === -1) {
    throw new DecodeError('TRUNCATED', `Avro body ends early (${bytes.length - offset} bytes)`, {
      ...location,
      ...identify(writer),
    })
  }
  if (decoded.offset !== bytes.length) {
    throw new DecodeError(
      'MALFORMED_BODY',
      `${bytes.length - decoded.offset} bytes left over after the Avro body`,
      {
        ...location,
        ...identify(writer),
      },
    )
  }
  return decoded.value as T
}

function identify(writer: WriterName): { schemaId?: number; fingerprint?: string } {
  return 'schemaId' in writer
    ? { schemaId: writer.schemaId }
    : { fingerprint: fingerprintHex(writer.fingerprint) }
}

function describeWriter(writer: WriterName): string {
  return 'schemaId' in writer
    ? `with id ${writer.schemaId}`
    : `with fingerprint ${fingerprintHex(writer.fingerprint)}`
}
