// Argument parsers shared by the commands; each throws commander's InvalidArgumentError, which
// the CLI reports as a usage error (exit 2).
import { InvalidArgumentError } from 'commander'

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('expected a whole number >= 1')
  return Number(value)
}

export function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}`)
    }
    return value as T
  }
}

export function listOf<T extends string>(allowed: readonly T[]) {
  const one = oneOf(allowed)
  return (value: string): T[] => value.split(',').map((v) => one(v.trim()))
}
