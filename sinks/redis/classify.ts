// How the runner treats a Redis failure (sinks/runtime/target.ts FailureKind):
// - transient: the connection (refused, reset, timed out, closed, offline queue off, retries spent)
//   and the server's temporary states (LOADING, BUSY, READONLY after a failover, TRYAGAIN,
//   CLUSTERDOWN, MASTERDOWN, OOM until memory is freed, NOSCRIPT if ever surfaced);
// - fatal: credentials and permissions (NOAUTH, WRONGPASS, NOPERM), and a server without the commands
//   the script needs (ERR unknown command: Redis older than 7.0, which has PEXPIRETIME);
// - data: any other error reply of the script (WRONGTYPE, a value Redis refuses).
import { SOCKET_ERROR_CODES } from '../runtime/socket-errors.js'
import type { FailureKind } from '../runtime/target.js'

const TRANSIENT_REPLIES = /^(LOADING|BUSY|READONLY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|OOM|NOSCRIPT|NOREPLICAS)\b/
const FATAL_REPLIES = /^(NOAUTH|WRONGPASS|NOPERM)\b/
const TRANSIENT_MESSAGES =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|Reached the max retries|Command timed out|connect ETIMEDOUT|socket|ECONNREFUSED|ECONNRESET/i

/** A record the sink cannot write (a tombstone without a key, a bad windowed key): find the record. */
export class RedisSinkDataError extends Error {
  readonly code = 'REDIS_SINK_DATA'
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'RedisSinkDataError'
  }
}

export function classifyRedisError(error: unknown): FailureKind {
  const e = error as { name?: string; code?: string; message?: string } | null
  const message = typeof e?.message === 'string' ? e.message : String(error)
  // A reply error from a script carries the command's error after the script's location.
  if (error instanceof RedisSinkDataError) return 'data'
  const reply = message.replace(/^ERR (user_script|Error running script)[^:]*:\d*:?\s*/, '').trim()
  if (FATAL_REPLIES.test(message) || FATAL_REPLIES.test(reply)) return 'fatal'
  if (/unknown command/i.test(message)) return 'fatal'
  if (TRANSIENT_REPLIES.test(message) || TRANSIENT_REPLIES.test(reply)) return 'transient'
  if (e?.name === 'ReplyError') return 'data'
  if (typeof e?.code === 'string' && SOCKET_ERROR_CODES.has(e.code)) return 'transient'
  if (e?.name === 'MaxRetriesPerRequestError' || TRANSIENT_MESSAGES.test(message)) return 'transient'
  // Anything else (a bug, an unexpected client state) is retried rather than dropping records.
  return 'transient'
}
