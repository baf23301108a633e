// `agent-party reset`: the pipeline reset for a replay from earliest (ops/reset.ts, the one the API's
// admin reset uses): the processor application reset and the selected sinks cleared, their stored
// offsets at the output topics' end. Refused (exit 5) while the processor or a selected sink runs.
import { type Command, InvalidArgumentError } from 'commander'
import { loadConfig, type SinkName } from '../../config/config.js'
import { SINK_NAMES } from '../../config/env.js'
import { type PipelineResetReport, resetPipeline } from '../../ops/reset.js'
import { printJson } from '../output.js'

/** A comma-separated subset of the sinks, or `none`. */
function sinkList(value: string): SinkName[] {
  if (value.trim() === 'none') return []
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '')
  const unknown = names.filter((n) => !(SINK_NAMES as readonly string[]).includes(n))
  if (names.length === 0 || unknown.length > 0)
    throw new InvalidArgumentError(`expected a comma-separated subset of ${SINK_NAMES.join(', ')}, or none`)
  return [...new Set(names)] as SinkName[]
}

function printReport(report: PipelineResetReport): void {
  const offsets = (list: readonly { topic: string; partition: number; offset: number }[]) =>
    list.length === 0 ? 'none' : list.map((o) => `${o.topic}-${o.partition}@${o.offset}`).join(', ')
  const lines: string[] = []
  if (report.processor === null) lines.push(`processor ${report.applicationId}: not reset`)
  else {
    lines.push(`processor ${report.applicationId}: reset`)
    lines.push(`  internal topics deleted: ${report.processor.deletedTopics.join(', ') || 'none'}`)
    const cleared = report.processor.clearedTopics
    lines.push(
      `  tables' output topics cleared (tombstones): ${cleared.map((c) => `${c.topic}-${c.partition}: ${c.tombstones}`).join(', ') || 'none'}`,
    )
    lines.push(`  input offsets (next to read): ${offsets(report.processor.inputOffsets)}`)
  }
  if (report.sinks.length === 0) lines.push('sinks: none reset')
  for (const s of report.sinks) {
    lines.push(`sink ${s.sink} (${s.id}, group ${s.groupId}): cleared ${s.cleared}`)
    lines.push(
      s.from === 'end'
        ? `  starts after the outputs' end; stored offsets (last applied): ${offsets(s.storedOffsets)}`
        : '  starts from the earliest offsets',
    )
    lines.push(`  group offsets (next to read): ${offsets(s.groupOffsets)}`)
  }
  lines.push('start the processor and the sinks again to rebuild')
  process.stdout.write(`${lines.join('\n')}\n`)
}

export function registerResetCommand(program: Command): void {
  program
    .command('reset')
    .description(
      'Reset the pipeline for a replay from the earliest offsets: the processor application (input ' +
        "offsets to the earliest, internal topics deleted) and the sinks' data, their stored offsets " +
        "set to the output topics' end so that they apply only the rebuilt results. Stop every processor " +
        "and sink instance first: while the processor's group or a selected sink's group has live members " +
        'the reset is refused (exit 5) and nothing changes. Then start them again to rebuild',
    )
    .option(
      '--sinks <list>',
      `the sinks to reset: a comma-separated subset of ${SINK_NAMES.join(', ')}, or none ` +
        '(default neo4j,redis; the archive holds the raw input log, reset it only on purpose)',
      sinkList,
    )
    .option('--no-processor', 'leave the processor application as it is (the sinks rebuild from the outputs)')
    .option('--json', 'print JSON')
    .action(async (options: { sinks?: SinkName[]; processor: boolean; json?: boolean }, command: Command) => {
      if (!options.processor && options.sinks?.length === 0)
        command.error('error: nothing to reset (--no-processor with --sinks none)', { exitCode: 2 })
      const report = await resetPipeline(loadConfig(), {
        resetProcessor: options.processor,
        ...(options.sinks !== undefined ? { sinks: options.sinks } : {}),
      })
      if (options.json) printJson(report)
      else printReport(report)
    })
}
