// How the Neo4j sink's runner treats an error (sinks/runtime/target.ts FailureKind), from the server's
// status code (Neo.<Classification>.<Category>.<Title>) or the driver's, or a socket error:
// - transient: the server unreachable or busy (ServiceUnavailable, SessionExpired, a closed pool or a
//   pool acquisition timeout, any Neo.TransientError: deadlocks, lock timeouts, leader switches;
//   Neo.DatabaseError; a socket refused, reset or timed out);
// - data: the batch's values are refused (a constraint, a type or argument error);
// - fatal: credentials or permissions, a missing database, a statement the server cannot parse
//   (a bug: no record is to blame, and retrying changes nothing).
// Unknown errors are transient: the runner retries them with backoff rather than dead-lettering.
import { SOCKET_ERROR_CODES } from '../runtime/socket-errors.js'
import type { FailureKind } from '../runtime/target.js'

const CONNECTION_CODES = new Set(['ServiceUnavailable', 'SessionExpired'])

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

/** Whether the error says the server could not be reached (the connection-failure counter). */
export function isConnectionFailure(error: unknown): boolean {
  const code = codeOf(error)
  if (code !== undefined && (CONNECTION_CODES.has(code) || SOCKET_ERROR_CODES.has(code))) return true
  const cause = (error as { cause?: unknown } | null)?.cause
  return cause !== undefined && cause !== error && isConnectionFailure(cause)
}

export function classifyNeo4jError(error: unknown): FailureKind {
  if (isConnectionFailure(error)) return 'transient'
  const code = codeOf(error) ?? ''
  if (code.startsWith('Neo.TransientError.')) return 'transient'
  if (code.startsWith('Neo.DatabaseError.')) return 'transient'
  if (code.startsWith('Neo.ClientError.Security.')) {
    return code === 'Neo.ClientError.Security.AuthenticationRateLimit' ? 'transient' : 'fatal'
  }
  if (code === 'Neo.ClientError.Database.DatabaseNotFound') return 'fatal'
  if (
    code === 'Neo.ClientError.Statement.SyntaxError' ||
    code === 'Neo.ClientError.Procedure.ProcedureNotFound'
  )
    return 'fatal'
  if (code.startsWith('Neo.ClientError.Cluster.')) return 'transient'
  if (code === 'Neo.ClientError.General.ForbiddenOnReadOnlyDatabase') return 'transient'
  if (code.startsWith('Neo.ClientError.Transaction.')) return 'transient'
  if (code.startsWith('Neo.ClientError.Schema.ConstraintValidationFailed')) return 'data'
  if (code.startsWith('Neo.ClientError.Statement.')) return 'data'
  if (code.startsWith('Neo.ClientError.')) return 'data'
  // The driver marks what a retry can fix (its own managed transactions retry these).
  if ((error as { retriable?: unknown } | null)?.retriable === true) return 'transient'
  return 'transient'
}
