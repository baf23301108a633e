// The closed set of errors the topology engine raises: one base class with a `code`, whether a retry can
// help, and an optional cause. Build-time codes fail `StreamsBuilder.build()` with a message that says
// what to change; runtime codes fail a task (the runtime closes it and resumes from its last commit
// when `retryable` is true). Every code is documented here; a unit test keeps the table complete.

export const topologyErrorCodes = {
  MISSING_SERDE: {
    retryable: false,
    doc: 'A source, sink, repartition topic or logged store needs a serde that was neither given nor inherited, and the builder has no default.',
  },
  DUPLICATE_NAME: {
    retryable: false,
    doc: 'A processor, store or internal topic name is used twice; names must be unique so that state survives upgrades.',
  },
  UNKNOWN_STORE: {
    retryable: false,
    doc: 'A processor refers to a state store that was never added with builder.addStateStore() or is not connected to it.',
  },
  REPARTITION_REQUIRED: {
    retryable: false,
    doc: 'A stateful processor follows a key-changing operation; add .repartition() so each key reaches one task.',
  },
  INVALID_ARGUMENT: {
    retryable: false,
    doc: 'An option or argument has a bad value; the message names it.',
  },
  INVALID_TOPOLOGY: {
    retryable: false,
    doc: 'The topology as a whole is not valid (no source, a topic read by two sources).',
  },
  PIPE_NOT_SYNCHRONOUS: {
    retryable: false,
    doc: 'An operator given to KStream.pipe() emitted outside the synchronous call that fed it; use mapValuesAsync() for asynchronous work.',
  },
  PIPE_COMPLETED: {
    retryable: false,
    doc: 'The operators given to KStream.pipe() completed (take, first...): a stream never ends, so records would be lost.',
  },
  ASYNC_OPERATION_FAILED: {
    retryable: true,
    doc: 'The function given to mapValuesAsync() rejected; the task can be restarted from its last commit.',
  },
  PROCESSING_FAILED: {
    retryable: false,
    doc: 'User code (a predicate, mapper, aggregator or processor) threw while processing a record.',
  },
  SERIALIZATION_FAILED: {
    retryable: false,
    doc: "A serde failed to serialize or deserialize a key or value, or a record's timestamp is invalid, and the exception handler answered 'fail' (by default such a record goes to the dead-letter output instead).",
  },
  ILLEGAL_STATE_TRANSITION: {
    retryable: false,
    doc: 'A task was asked to move between lifecycle states the state machine does not allow, or to work in the wrong state.',
  },
  COMMIT_IN_FLIGHT: {
    retryable: true,
    doc: 'A commit was prepared while records were still in flight in an asynchronous operator; await task.whenIdle() first.',
  },
  STORE_KEY_TOO_LARGE: {
    retryable: false,
    doc: "A key written to a store kept in LMDB (stateStore 'lmdb') serializes to more than LMDB's 1977 bytes; the record is handled as a processing error.",
  },
  UNKNOWN_TOPIC: {
    retryable: false,
    doc: 'The test driver was given records for a topic no source of the topology reads.',
  },
  INVALID_CONFIG: {
    retryable: false,
    doc: 'A KafkaStreams configuration value is missing or bad; the message names the setting and the fix.',
  },
  STATE_DIR_LOCKED: {
    retryable: false,
    doc: 'Another live process holds the state directory of this application: give each instance its own stateDir.',
  },
  MISSING_SOURCE_TOPIC: {
    retryable: false,
    doc: 'A source topic of the topology does not exist on the cluster; create it (agent-party provision) before starting.',
  },
  MISSING_SINK_TOPIC: {
    retryable: false,
    doc: 'An output topic of the topology does not exist on the cluster; create it before starting (the runtime creates only its internal topics).',
  },
  INVALID_CHANGELOG_TOPIC: {
    retryable: false,
    doc: "A topic given as a store's changelog (Materialized.withChangelogTopic) has another partition count than the store has tasks, or a cleanup policy that deletes records a restore needs; recreate or reconfigure it.",
  },
  COPARTITIONING_MISMATCH: {
    retryable: false,
    doc: 'Topics a join reads together have different partition counts; repartition one side or recreate the topic.',
  },
  GROUP_HAS_MEMBERS: {
    retryable: false,
    doc: 'An application reset was asked while the group has live members; stop every instance first.',
  },
  TRANSACTION_OPEN: {
    retryable: true,
    doc: 'An application reset was asked while a transaction is still open on a topic a table logs into (an instance stopped without closing); nothing was reset: reset again once the broker has aborted it.',
  },
  TASK_MIGRATED: {
    retryable: true,
    doc: 'The group moved on (rebalance, fenced generation) while a commit was in progress: the uncommitted work was aborted and the tasks are rebuilt from their changelogs.',
  },
  PRODUCER_FENCED: {
    retryable: false,
    doc: 'Another process started with the same instance id (transactional id) and fenced this one, which stops.',
  },
  COMMIT_FAILED: {
    retryable: true,
    doc: 'A transaction or offset commit failed; the uncommitted work was aborted and the tasks resume from the last commit.',
  },
} as const satisfies Record<string, { retryable: boolean; doc: string }>

export type TopologyErrorCode = keyof typeof topologyErrorCodes

export interface TopologyErrorDetails {
  cause?: unknown
  /** The processor, store or topic concerned. */
  subject?: string
  taskId?: string
}

export class TopologyError extends Error {
  readonly code: TopologyErrorCode
  readonly retryable: boolean
  readonly subject: string | undefined
  readonly taskId: string | undefined

  constructor(code: TopologyErrorCode, message: string, details: TopologyErrorDetails = {}) {
    super(`${code}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'TopologyError'
    this.code = code
    this.retryable = topologyErrorCodes[code].retryable
    this.subject = details.subject
    this.taskId = details.taskId
  }
}

/** Thrown by build() with every problem found; its code is the first problem's. */
export class TopologyBuildError extends TopologyError {
  readonly problems: readonly TopologyError[]

  constructor(problems: readonly TopologyError[]) {
    const first = problems[0] as TopologyError
    const rest =
      problems.length > 1
        ? `\n(and ${problems.length - 1} more:\n${problems
            .slice(1)
            .map((p) => `  ${p.message}`)
            .join('\n')})`
        : ''
    super(first.code, `${first.message.slice(first.code.length + 2)}${rest}`, {
      subject: first.subject ?? '',
    })
    this.name = 'TopologyBuildError'
    this.problems = problems
  }
}

export function isTopologyError(error: unknown, code?: TopologyErrorCode): error is TopologyError {
  return error instanceof TopologyError && (code === undefined || error.code === code)
}
