// What a test reads of an error: the Kafka client wraps the broker's answer in causes and aggregates.

/** Every message of an error and of its causes and inner errors, joined by ' / '. */
export function fullMessage(error: unknown): string {
  const parts: string[] = []
  for (let e = error as { message?: string; cause?: unknown; errors?: unknown[] } | undefined; e; ) {
    parts.push(String(e.message))
    for (const inner of e.errors ?? []) parts.push(fullMessage(inner))
    e = e.cause as typeof e
  }
  return parts.join(' / ')
}
