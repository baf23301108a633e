// The closed set of errors the schemas layer raises: one base class with a `code`, whether a retry can
// help, and for decoding errors everything a dead-letter record needs (topic, partition, offset,
// schema id or fingerprint, reason). Codes are documented here and in schemas/README.md; a unit test
// keeps the two in step.

/** Every code, with what it means and whether retrying the same operation can succeed. */
export const schemaErrorCodes = {
  NOT_AVRO: {
    retryable: false,
    doc: 'The bytes do not start with a known header (magic byte 0, or C3 01 for single-object encoding).',
  },
  TRUNCATED: {
    retryable: false,
    doc: 'The bytes end before the header or the Avro body is complete (or an array or map declares more items than the bytes left can hold).',
  },
  MALFORMED_BODY: {
    retryable: false,
    doc: 'The Avro body cannot be read with its writer schema (bad union or enum index, negative block size, bytes left over).',
  },
  UNKNOWN_SCHEMA_ID: {
    retryable: false,
    doc: 'The registry does not know the schema id of the record (or it was never fetched, on the sync path).',
  },
  UNKNOWN_FINGERPRINT: {
    retryable: false,
    doc: 'No schema version kept in schemas/avro/history has the fingerprint of the record.',
  },
  INCOMPATIBLE_WRITER_SCHEMA: {
    retryable: false,
    doc: 'The reader cannot resolve the writer schema (for example a union branch it does not know): the producer is ahead of the pipeline.',
  },
  SCHEMA_NOT_PREPARED: {
    retryable: true,
    doc: 'A registry id was met on the synchronous decode path before prepare() fetched it: a caller bug, not bad data (never dead-letter on it).',
  },
  INVALID_EVENT: {
    retryable: false,
    doc: 'An event to encode does not match the schema of its topic.',
  },
  SCHEMA_NOT_REGISTERED: {
    retryable: false,
    doc: 'The writer schema is not registered under its subject and auto-registration is off: provision the schemas first.',
  },
  SCHEMA_INCOMPATIBLE: {
    retryable: false,
    doc: "The registry refused a schema because it breaks the subject's compatibility level (HTTP 409).",
  },
  REGISTRY_UNAVAILABLE: {
    retryable: true,
    doc: 'The registry could not be reached, timed out or answered 5xx/408/429.',
  },
  REGISTRY_ERROR: {
    retryable: false,
    doc: 'The registry answered with another error status or an unexpected body.',
  },
  INVALID_OPTIONS: {
    retryable: false,
    doc: 'Options given to the generator or a serde factory are invalid; the message names each bad option.',
  },
  SCHEMA_FILE_INVALID: {
    retryable: false,
    doc: 'A .avsc file in schemas/ is missing, is not valid JSON or not a valid Avro schema.',
  },
} as const satisfies Record<string, { retryable: boolean; doc: string }>

export type SchemaErrorCode = keyof typeof schemaErrorCodes

/** The codes a consumer meets when decoding; a record failing with one of them goes to the dead-letter topic. */
export const decodeErrorCodes = [
  'NOT_AVRO',
  'TRUNCATED',
  'MALFORMED_BODY',
  'UNKNOWN_SCHEMA_ID',
  'UNKNOWN_FINGERPRINT',
  'INCOMPATIBLE_WRITER_SCHEMA',
] as const satisfies readonly SchemaErrorCode[]

export type DecodeErrorCode = (typeof decodeErrorCodes)[number]

/** Where a record came from, as far as the caller knows it. */
export interface RecordLocation {
  topic?: string
  partition?: number
  offset?: bigint | number
}

export interface SchemaErrorDetails extends RecordLocation {
  cause?: unknown
  /** Registry schema id of the writer, when the record carries one. */
  schemaId?: number
  /** CRC-64-AVRO fingerprint of the writer, hex, big-endian, when the record carries one. */
  fingerprint?: string
  /** Registry subject involved, for registry errors. */
  subject?: string
  /** HTTP status of a registry answer, for registry errors. */
  status?: number
}

export class SchemaError extends Error {
  readonly code: SchemaErrorCode
  readonly retryable: boolean
  readonly details: Omit<SchemaErrorDetails, 'cause'>

  constructor(code: SchemaErrorCode, message: string, details: SchemaErrorDetails = {}) {
    const { cause, ...rest } = details
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'SchemaError'
    this.code = code
    this.retryable = schemaErrorCodes[code].retryable
    this.details = rest
  }
}

/** What a dead-letter record carries about why its record could not be decoded. */
export interface DeadLetterReason extends RecordLocation {
  code: DecodeErrorCode
  schemaId?: number
  fingerprint?: string
  reason: string
}

export class DecodeError extends SchemaError {
  declare readonly code: DecodeErrorCode

  constructor(code: DecodeErrorCode, message: string, details: SchemaErrorDetails = {}) {
    super(code, message, details)
    this.name = 'DecodeError'
  }

  /** The fields a dead-letter record needs, without the stack or the cause. */
  toDeadLetter(): DeadLetterReason {
    const { topic, partition, offset, schemaId, fingerprint } = this.details
    return {
      code: this.code,
      reason: this.message,
      ...(topic === undefined ? {} : { topic }),
      ...(partition === undefined ? {} : { partition }),
      ...(offset === undefined ? {} : { offset }),
      ...(schemaId === undefined ? {} : { schemaId }),
      ...(fingerprint === undefined ? {} : { fingerprint }),
    }
  }
}

export function isDecodeError(error: unknown): error is DecodeError {
  return error instanceof DecodeError
}
