// The exit codes of the `agent-party` command. Documented in the README ("Exit codes") and in
// `agent-party --help`; a unit test keeps the two in step.
export const EXIT = Object.freeze({
  /** The command did what was asked. */
  OK: 0,
  /** The command failed at run time (a service unreachable, a query refused, ...). */
  FAILURE: 1,
  /** The command line is wrong: unknown command or option, bad argument. */
  USAGE: 2,
  /** The environment configuration is invalid; the message names each variable. */
  CONFIG: 3,
  /** What exists differs from what is defined (a topic's partitions or retention) and was left as it is. */
  MISMATCH: 4,
  /** Refused: the state does not allow it now (a group with live members); nothing was changed. */
  REFUSED: 5,
  /** Done, and its check failed: the state a replay rebuilt differs from the state before it. */
  DIFFERENT: 6,
})

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  failure at run time (a service unreachable, a query refused, ...)
  2  usage error (unknown command or option, bad argument)
  3  invalid configuration (the message names each bad variable and the expected form)
  4  existing state differs from its definition (e.g. a topic's partitions or retention)
  5  refused: the state does not allow it now (a group has live members, a transaction is open); nothing changed
  6  done, but the check failed: the state a replay rebuilt differs from the state before it`
