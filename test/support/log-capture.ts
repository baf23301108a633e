// A pino destination that keeps what is logged, for tests that check a log line was (or was not)
// written: each JSON line as written (`raw`) and parsed (`lines`), and all of it as one string.
import { Writable } from 'node:stream'

export interface LogCapture {
  readonly destination: Writable
  /** Each line as written. */
  readonly raw: string[]
  /** Each line parsed. */
  readonly lines: Record<string, unknown>[]
  /** Everything written so far. */
  text(): string
}

export function captureLogs(): LogCapture {
  const raw: string[] = []
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) {
        if (line === '') continue
        raw.push(line)
        lines.push(JSON.parse(line) as Record<string, unknown>)
      }
      done()
    },
  })
  return { destination, raw, lines, text: () => raw.join('\n') }
}
