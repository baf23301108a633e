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
