// promtool (Debian's `prometheus` package) for the deploy tests: found on the PATH, or a failure that
// says how to install it; never a skipped test.
import { spawnSync } from 'node:child_process'

export interface PromtoolResult {
  readonly status: number | null
  readonly output: string
}

export function promtool(args: readonly string[], cwd?: string): PromtoolResult {
  const result = spawnSync('promtool', args, { encoding: 'utf8', ...(cwd ? { cwd } : {}), timeout: 60_000 })
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT')
    throw new Error('promtool is not installed: `apt-get install prometheus` (Debian) provides it')
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

/** `5m`, `1h30m`, `90s` in milliseconds (Prometheus durations, as rules and tests write them). */
export function durationMs(text: string): number {
  const units: Record<string, number> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
  }
  let total = 0
  const pattern = /(\d+)(ms|s|m|h|d|w)/g
  let matched = ''
  for (const m of text.matchAll(pattern)) {
    total += Number(m[1]) * (units[m[2] as string] as number)
    matched += m[0]
  }
  if (matched !== text) throw new Error(`not a Prometheus duration: ${text}`)
  return total
}

/** A duration in Prometheus' notation, whole minutes or seconds. */
export function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`
}
