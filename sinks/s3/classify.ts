// How the archive sink's failures are handled (see sinks/runtime/target.ts FailureKind). The archive
// stores raw bytes, so no record can be refused: 'data' never applies. Credentials and permissions
// stop the sink; a manifest or object that cannot be read as the archive's format needs an operator;
// everything else from S3 or the network (refused, reset, timeouts, 5xx, SlowDown, a manifest another
// writer changed) is retried.
import type { FailureKind } from '../runtime/target.js'
import { ArchiveFormatError } from './archive-format.js'
import { ManifestConflictError } from './manifest.js'

const FATAL_S3_CODES = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'InvalidBucketName',
  'NoSuchBucket',
  'InvalidObjectState',
  'MethodNotAllowed',
  'NotImplemented',
])

export function classifyArchiveError(error: unknown): FailureKind {
  if (error instanceof ManifestConflictError) return 'transient'
  if (error instanceof ArchiveFormatError) return 'fatal'
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError)
    return 'fatal'
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && FATAL_S3_CODES.has(code)) return 'fatal'
  // Network errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, EAI_AGAIN...), SlowDown, InternalError,
  // ServiceUnavailable, RequestTimeout, PreconditionFailed outside the manifest, and anything unknown:
  // retrying an archive write loses nothing and duplicates nothing.
  return 'transient'
}
