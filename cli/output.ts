// Output helpers shared by the commands: human text by default, JSON with --json.
import type { ProvisionReport } from '../ops/provision.js'

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`)
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return `${[header, ...rows].map(line).join('\n')}\n`
}

export function printProvisionReport(
  report: ProvisionReport,
  json = false,
  stream: NodeJS.WritableStream = process.stdout,
): void {
  if (json) {
    printJson(report)
    return
  }
  const list = (xs: unknown[]) => (xs.length > 0 ? xs.join(', ') : 'none')
  stream.write(
    [
      `topics created: ${list(report.topicsCreated)}`,
      `topics already in place: ${list(report.topicsExisting)}`,
      `graph migrations applied: ${list(report.migrationsApplied)}`,
      `archive bucket: ${report.bucketCreated ? 'created' : 'already in place'}`,
      `schema subjects with new versions: ${list(report.schemasRegistered)}`,
    ]
      .map((line) => `${line}\n`)
      .join(''),
  )
}
