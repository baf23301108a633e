// Progress of long-running commands on stderr: one line rewritten in place on a terminal, a line
// every few seconds otherwise (CI logs), with the rate and the time left.
export interface ProgressLine {
  done: number
  total: number
  elapsedMs: number
  unit: string
}

export function formatProgress({ done, total, elapsedMs, unit }: ProgressLine): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0
  const share = total > 0 ? Math.min(1, done / total) : 1
  const width = 24
  const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.')
  const eta = rate > 0 && done < total ? ` ETA ${formatDuration(((total - done) / rate) * 1000)}` : ''
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  return `[${bar}] ${(share * 100).toFixed(0).padStart(3)}% ${n(done)}/${n(total)} ${unit} ${n(rate)} ${unit}/s${eta}`
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

export function progressReporter(stream: NodeJS.WriteStream = process.stderr, everyMs = 2000) {
  let lastLine = 0
  return {
    update(line: ProgressLine, final = false): void {
      if (stream.isTTY) {
        stream.write(`\r${formatProgress(line)}${final ? '\n' : ''}`)
      } else if (final || line.elapsedMs - lastLine >= everyMs) {
        lastLine = line.elapsedMs
        stream.write(`${formatProgress(line)}\n`)
      }
    },
  }
}
