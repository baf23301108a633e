// `agent-party replay`: a replay from earliest (ops/replay.ts): the sinks' state digested, the pipeline
// reset, the processor and the sinks run in this process until they rebuilt everything (a progress bar
// per phase on stderr, with events/s and ETA), the state digested again and compared. Exit 0 when the
// deterministic part (entity tables, aggregates of one topic) is equal, 6 when it differs (the report
// names the tables and a few ids); the timing-dependent outputs are reported apart and never decide.
// `--from archive` re-publishes the archive into replay topics first (history older than retention).
import { type Command, InvalidArgumentError } from 'commander'
import { type Config, loadConfig } from '../../config/config.js'
import { createRootLogger } from '../../config/logger.js'
import {
  type ArchiveReplayResult,
  ReplayDifferenceError,
  type ReplayPhase,
  type ReplayProgress,
  type ReplayResult,
  type ReplaySink,
  replayFromArchive,
  replayPipeline,
} from '../../ops/replay.js'
import { differs, type TableComparison } from '../../ops/replay-digest.js'
import { duration, oneOf } from '../arguments.js'
import { printJson } from '../output.js'
import { formatDuration, progressReporter } from '../progress.js'

const REPLAY_SINKS: readonly ReplaySink[] = ['neo4j', 'redis']

/** A comma-separated subset of neo4j, redis. */
function replaySinks(value: string): ReplaySink[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '')
  if (names.length === 0 || names.some((n) => !(REPLAY_SINKS as readonly string[]).includes(n)))
    throw new InvalidArgumentError(`expected a comma-separated subset of ${REPLAY_SINKS.join(', ')}`)
  return [...new Set(names)] as ReplaySink[]
}

/** Seconds (`600`) or a duration (`10m`). */
function timeout(value: string): number {
  return /^\d+$/.test(value.trim()) && Number(value) > 0 ? Number(value) * 1000 : duration(value)
}

const PHASE_TEXT: Record<ReplayPhase, string> = {
  republish: 're-publishing the archive into the replay topics',
  'snapshot-before': "digesting the sinks' state before the replay",
  reset: 'resetting the processor application and the sinks',
  processor: 'rebuilding: the processor reads every input event again',
  sinks: 'rebuilding: the sinks apply the rebuilt results',
  'snapshot-after': "digesting the sinks' rebuilt state",
}

/** Draws one progress bar per phase on stderr. */
function progressDrawer(stream: NodeJS.WriteStream = process.stderr) {
  let phase: ReplayPhase | undefined
  let bar = progressReporter(stream)
  let last: ReplayProgress | undefined
  const finish = () => {
    if (last && last.total > 0) bar.update({ ...last, elapsedMs: last.elapsedMs }, true)
  }
  return {
    update(p: ReplayProgress): void {
      if (p.phase !== phase) {
        finish()
        phase = p.phase
        last = undefined
        bar = progressReporter(stream)
        stream.write(`${PHASE_TEXT[p.phase]}\n`)
      }
      if (p.total > 0) {
        last = p
        bar.update({ done: p.done, total: p.total, elapsedMs: p.elapsedMs, unit: p.unit })
      }
    },
    end: finish,
  }
}

function differences(t: TableComparison): string {
  if (!differs(t)) return `${t.equal} equal`
  const parts = [
    `${t.equal} equal`,
    ...(t.changed ? [`${t.changed} changed`] : []),
    ...(t.missing ? [`${t.missing} missing`] : []),
    ...(t.added ? [`${t.added} added`] : []),
  ]
  return `${parts.join(', ')} (e.g. ${t.examples.map((e) => `${e.id} ${e.difference}`).join('; ')})`
}

function printReport(result: ReplayResult | ArchiveReplayResult, from: 'kafka' | 'archive'): void {
  const s = (ms: number) => formatDuration(ms)
  const lines: string[] = []
  if ('republished' in result) {
    for (const r of result.republished)
      lines.push(
        `republished ${r.records} archived records of ${r.input} into ${r.replayTopic}` +
          (r.notArchived > 0
            ? ` (${r.notArchived} records in Kafka after the archive's end not replayed)`
            : ''),
      )
  }
  const { phases } = result
  lines.push(
    `replay of ${result.applicationId} from ${from}: ${result.events} events, ${result.outputRecords} output ` +
      `records applied, ${Math.round(result.eventsPerSecond)} events/s (reset ${s(phases.resetMs)}, ` +
      `processor ${s(phases.processorMs)}, sinks ${s(phases.sinksMs)}; digests ${s(phases.snapshotBeforeMs)} + ` +
      `${s(phases.snapshotAfterMs)})`,
  )
  const c = result.comparison
  if (c) {
    lines.push(`deterministic state: ${c.deterministicEqual ? 'EQUAL' : 'DIFFERENT'} before and after`)
    for (const t of c.deterministic)
      lines.push(`  ${t.table}: before ${t.before}, after ${t.after}: ${differences(t)}`)
    lines.push('timing-dependent (may differ after any replay; not part of the verdict):')
    for (const t of c.timingDependent)
      lines.push(`  ${t.table}: before ${t.before}, after ${t.after}: ${differences(t)} [${t.reason}]`)
  }
  lines.push('the processor and the sinks were stopped: start them normally to go on')
  process.stdout.write(`${lines.join('\n')}\n`)
}

function jsonReport(result: ReplayResult | ArchiveReplayResult, from: 'kafka' | 'archive') {
  const { before: _b, after: _a, ...rest } = result
  return { from, ...rest }
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'Replay from the earliest offsets and check the rebuild: digests the Neo4j and Redis state, resets ' +
        'the pipeline (as `reset`), runs the processor and the sinks in this process until they have ' +
        'rebuilt every input event (progress with events/s and ETA on stderr), stops them, digests the ' +
        'state again and prints the comparison: the deterministic part (entity tables, aggregates of one ' +
        'topic) must be equal (exit 0; exit 6 when it differs), the outputs that depend on cross-topic ' +
        'timing or the wall clock are listed apart. Stop every processor and sink instance first: while ' +
        "the processor's or a sink's group has live members the replay is refused (exit 5) and nothing " +
        'changes. With --from archive, the archived input events are re-published first into the replay ' +
        'topics <input>.replay (emptied first), which the rebuild reads',
    )
    .option(
      '--from <source>',
      'kafka (the input topics) or archive (the S3 archive)',
      oneOf(['kafka', 'archive']),
    )
    .option(
      '--sinks <list>',
      `the sinks to rebuild: a comma-separated subset of neo4j, redis (default both)`,
      replaySinks,
    )
    .option(
      '--timeout <seconds>',
      'give up the rebuild after this long: seconds, or a duration such as 30m (default 1h)',
      timeout,
    )
    .option('--json', 'print the report as JSON')
    .action(
      async (options: {
        from?: 'kafka' | 'archive'
        sinks?: ReplaySink[]
        timeout?: number
        json?: boolean
      }) => {
        const config: Config = loadConfig()
        const from = options.from ?? 'kafka'
        // The processor's and the sinks' logs below the progress bars: warnings and errors only.
        const logger = createRootLogger({ ...config.log, level: 'warn' }, { destination: process.stderr })
        const drawer = progressDrawer()
        const common = {
          ...(options.sinks ? { sinks: options.sinks } : {}),
          ...(options.timeout ? { timeoutMs: options.timeout } : {}),
          logger,
          onProgress: (p: ReplayProgress) => drawer.update(p),
        }
        let result: ReplayResult | ArchiveReplayResult
        try {
          result =
            from === 'archive'
              ? await replayFromArchive(config, {
                  ...common,
                  onRepublish: ({ topic, records }) =>
                    process.stderr.write(`republishing ${topic}: ${records} records\n`),
                })
              : await replayPipeline(config, common)
        } finally {
          drawer.end()
        }
        if (options.json) printJson(jsonReport(result, from))
        else printReport(result, from)
        // Exit 6 (EXIT.DIFFERENT), through the entry point's error report.
        if (result.comparison && !result.comparison.deterministicEqual)
          throw new ReplayDifferenceError(result.comparison.deterministic.filter(differs).map((t) => t.table))
      },
    )
}
