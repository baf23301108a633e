import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { duration, listOf, share, timestamp, wholeNumber } from '../../../cli/arguments.js'
import { formatDuration, formatProgress } from '../../../cli/progress.js'

describe('argument parsers', () => {
  it('parse what users type', () => {
    expect(wholeNumber('12')).toBe(12)
    expect(share('0.05')).toBe(0.05)
    expect(duration('90s')).toBe(90_000)
    expect(duration('1.5h')).toBe(5_400_000)
    expect(timestamp('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1))
    expect(timestamp('1767225600000')).toBe(1767225600000)
    expect(listOf(['kafka', 'redis'] as const)('kafka, redis')).toEqual(['kafka', 'redis'])
  })

  it('refuse bad values with the expected form', () => {
    expect(() => wholeNumber('0')).toThrow(InvalidArgumentError)
    expect(() => share('1.5')).toThrow(/between 0 and 1/)
    expect(() => share('')).toThrow(/between 0 and 1/)
    expect(() => duration('10 minutes')).toThrow(/500ms, 90s, 10m/)
    expect(() => timestamp('yesterday')).toThrow(/ISO-8601/)
    expect(() => listOf(['kafka', 'redis'] as const)('kafka,zookeeper')).toThrow(/one of kafka, redis/)
  })
})

describe('progress', () => {
  it('shows share, counts, rate and time left', () => {
    expect(formatProgress({ done: 2500, total: 10_000, elapsedMs: 1000, unit: 'events' })).toBe(
      '[######..................]  25% 2,500/10,000 events 2,500 events/s ETA 3s',
    )
    expect(formatProgress({ done: 10_000, total: 10_000, elapsedMs: 4000, unit: 'events' })).toMatch(
      /100% .* 2,500 events\/s$/,
    )
  })

  it('formats durations', () => {
    expect(formatDuration(59_000)).toBe('59s')
    expect(formatDuration(61_000)).toBe('1m01s')
    expect(formatDuration(3_720_000)).toBe('1h02m')
  })
})
