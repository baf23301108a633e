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

export function positive(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0')
  return n
}

export function share(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError('expected a share between 0 and 1, e.g. 0.05')
  }
  return n
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim())
  if (!match?.[1] || !match[2])
    throw new InvalidArgumentError('expected a duration such as 500ms, 90s, 10m, 2h, 1d')
  const ms = Math.round(Number(match[1]) * (UNITS[match[2]] ?? 1))
  if (ms < 1) throw new InvalidArgumentError('expected a duration of at least 1ms')
  return ms
}

export function timestamp(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isFinite(ms) || ms < 0) {
    throw new InvalidArgumentError('expected an ISO-8601 time (2026-01-01T00:00:00Z) or epoch milliseconds')
  }
  return ms
}
