// What the runtime makes of the Kafka client's errors: the protocol error ids buried in them, which
// commit failures mean "the group moved on" (rebuild), which are fatal, and a retry for calls the
// broker answers with "not yet" (a transaction still completing, a coordinator loading).
import { setTimeout as sleep } from 'node:timers/promises'
import { isTopologyError, TopologyError } from '../errors.js'

// The client nests its errors (MultipleErrors -> ResponseError -> ProtocolError) and names the
// protocol error only in `apiId`: collect every message and id, depth first.
export function errorText(error: unknown): string {
  const parts: string[] = []
  const visit = (e: unknown, depth: number): void => {
    if (e === undefined || e === null || depth > 6) return
    if (typeof e !== 'object') {
      parts.push(String(e))
      return
    }
    const { message, apiId, code, errors, cause } = e as {
      message?: unknown
      apiId?: unknown
      code?: unknown
      errors?: unknown
      cause?: unknown
    }
    if (typeof apiId === 'string') parts.push(apiId)
    if (typeof code === 'string') parts.push(code)
    if (message !== undefined) parts.push(String(message))
    if (Array.isArray(errors)) for (const nested of errors) visit(nested, depth + 1)
    visit(cause, depth + 1)
  }
  visit(error, 0)
  return parts.join(' | ')
}

export function classifyCommitError(error: unknown): string {
  const text = errorText(error)
  if (/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/.test(text)) return 'RECORD_TOO_LARGE'
  if (/PRODUCER_FENCED|TRANSACTIONAL_ID_AUTHORIZATION/.test(text)) return 'PRODUCER_FENCED'
  // A transaction the coordinator timed out (its epoch was bumped) shows as INVALID_PRODUCER_EPOCH.
  if (
    /ILLEGAL_GENERATION|UNKNOWN_MEMBER_ID|FENCED_INSTANCE_ID|REBALANCE_IN_PROGRESS|INVALID_PRODUCER_EPOCH/.test(
      text,
    )
  )
    return 'TASK_MIGRATED'
  return 'COMMIT_FAILED'
}

export function wrapCommitError(error: unknown, reason: string): TopologyError {
  const classified = classifyCommitError(error)
  if (classified === 'RECORD_TOO_LARGE') {
    return new TopologyError(
      'INVALID_CONFIG',
      `${reason} commit failed: a produce request exceeds the broker's message.max.bytes; raise it ` +
        `(and max.message.bytes of the topics) or make records smaller: ${errorText(error)}`,
      { cause: error },
    )
  }
  const code = classified
  return new TopologyError(code as 'COMMIT_FAILED', `${reason} commit failed: ${errorText(error)}`, {
    cause: error,
  })
}

export function isFatal(error: unknown): boolean {
  // PRODUCER_FENCED is retried (a renewed producer) until it repeats: see #recoverFromCommitFailure.
  return (
    isTopologyError(error) &&
    !error.retryable &&
    error.code !== 'COMMIT_FAILED' &&
    error.code !== 'TASK_MIGRATED' &&
    error.code !== 'PRODUCER_FENCED'
  )
}

// Retries a call whose failure the client marks retryable (or a timeout) until `budgetMs` is spent.
export async function retryUntil<T>(call: () => Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs
  for (let attempt = 0; ; attempt++) {
    try {
      return await call()
    } catch (error) {
      const retryable =
        /UNSTABLE_OFFSET_COMMIT|CONCURRENT_TRANSACTIONS|COORDINATOR_LOAD_IN_PROGRESS|COORDINATOR_NOT_AVAILABLE|NOT_COORDINATOR|timed out|ECONNREFUSED|ECONNRESET/i.test(
          errorText(error),
        )
      if (!retryable || Date.now() > deadline) throw error
      await sleep(Math.min(1000, 50 * 2 ** attempt))
    }
  }
}
