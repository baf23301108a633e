// Validation of the millisecond durations that window definitions take. A bad duration fails the factory
// with INVALID_ARGUMENT naming the parameter, as Kafka Streams' ApiUtils.validateMillisecondDuration does.
import { TopologyError } from '../errors.js'

export function requireMillis(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value)) {
    throw new TopologyError(
      'INVALID_ARGUMENT',
      `${name} must be a whole number of milliseconds, got ${value}`,
      {
        subject: name,
      },
    )
  }
  if (value < min) {
    const rule = min === 0 ? 'must not be negative' : `must be at least ${min} ms`
    throw new TopologyError('INVALID_ARGUMENT', `${name} ${rule}, got ${value}`, { subject: name })
  }
  return value
}
