// Typed errors of the local stack: every failure the CLI shows carries a stable `code` and a
// message that says how to fix it, so callers can branch on the code and users can act on the text.

export type StackErrorCode =
  | 'JAVA_MISSING'
  | 'JDK_MISSING'
  | 'MAVEN_MISSING'
  | 'MAVEN_FAILED'
  | 'REDIS_MISSING'
  | 'INSTALL_FAILED'
  | 'PORT_IN_USE'
  | 'INVALID_PORT'
  | 'PORT_MISMATCH'
  | 'START_TIMEOUT'
  | 'EXITED'
  | 'STOP_FAILED'
  | 'LOCKED'
  | 'UNKNOWN_SERVICE'
  | 'START_FAILED'

export class StackError extends Error {
  override readonly name = 'StackError'
  readonly code: StackErrorCode
  /** The service the error is about, when there is one. */
  readonly service: string | undefined
  /** Per-service errors when several services failed in one stackUp. */
  readonly causes: readonly StackError[]

  constructor(
    code: StackErrorCode,
    message: string,
    opts: { service?: string; causes?: readonly StackError[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = code
    this.service = opts.service
    this.causes = opts.causes ?? []
  }
}

export function isStackError(err: unknown): err is StackError {
  return err instanceof StackError
}
