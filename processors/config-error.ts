// The error every bad setting of the Agent Party topology throws: it names the setting, what was given
// and what is expected. Its own module, so that the concern modules that check their options and the
// configuration that calls them do not import each other.
export class ProcessorConfigError extends Error {
  readonly code = 'INVALID_CONFIG'
  constructor(
    readonly setting: string,
    given: unknown,
    expected: string,
  ) {
    super(`${setting}: got ${JSON.stringify(given)}, expected ${expected}`)
    this.name = 'ProcessorConfigError'
  }
}

/** A whole number of milliseconds of at least `min` (1 by default), or the error naming `setting`. */
export function wholeMs(setting: string, value: number, min = 1): number {
  if (!(Number.isInteger(value) && value >= min)) {
    const expected =
      min === 0
        ? 'zero or a positive whole number of milliseconds'
        : min === 1
          ? 'a positive whole number of milliseconds'
          : `a whole number of milliseconds, at least ${min}`
    throw new ProcessorConfigError(setting, value, expected)
  }
  return value
}

/** A positive whole number, or the error naming `setting`. */
export function positiveInteger(setting: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new ProcessorConfigError(setting, value, 'a positive whole number')
  }
  return value
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/

/** A Kafka topic name, or the error naming `setting`. */
export function topicName(setting: string, value: string): string {
  if (!TOPIC_NAME.test(value)) {
    throw new ProcessorConfigError(setting, value, "a topic name: 1-249 letters, digits, '.', '_' or '-'")
  }
  return value
}
