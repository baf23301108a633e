// `agent-party produce`: the seeded event generator, writing to the event topics (or to a fixture
// file) at a given rate, with progress on stderr and a summary on stdout.
import { type Command, Option } from 'commander'
import { loadConfig } from '../../config/config.js'
import { SCHEMA_ENCODINGS } from '../../config/env.js'
import { prefixedTopics, prepareProduceTargets } from '../../ops/produce.js'
import { type ProduceEventsOptions, type ProduceTarget, produceEvents } from '../../schemas/index.js'
import { duration, positive, share, timestamp, wholeNumber } from '../arguments.js'
import { printJson } from '../output.js'
import { progressReporter } from '../progress.js'

interface ProduceFlags {
  count?: number
  duration?: number
  rate?: number
  seed: string
  baseTime?: number
  outOfOrder: number
  late: number
  duplicates: number
  file?: string
  format: 'jsonl' | 'binary'
  encoding?: (typeof SCHEMA_ENCODINGS)[number]
  topicPrefix?: string
  createTopics?: boolean
  json?: boolean
}

export function registerProduceCommand(program: Command): void {
  program
    .command('produce')
    .description(
      'Generate a realistic, reproducible Agent Party event stream (same seed, same events) and write it ' +
        'to the four event topics with the idempotent producer, or to a fixture file',
    )
    .option('-n, --count <n>', 'events to write, duplicates included (default 1000)', wholeNumber)
    .option(
      '-d, --duration <time>',
      'event time to cover, e.g. 90s, 10m, 2h (count = duration x rate)',
      duration,
    )
    .option(
      '-r, --rate <events/s>',
      'events per second, also the write pace (default: 1000/s of event time, unpaced)',
      positive,
    )
    .option('--seed <seed>', 'seed of the generator', '1')
    .option(
      '--base-time <time>',
      'event time of the first event: ISO-8601 or epoch ms (default: now)',
      timestamp,
    )
    .option('--out-of-order <share>', 'share of events delivered out of order (0..1)', share, 0)
    .option('--late <share>', 'share of late events, far behind in event time (0..1)', share, 0)
    .option('--duplicates <share>', 'share of duplicated events, as a producer retry makes (0..1)', share, 0)
    .option('--file <path>', 'write a fixture file instead of Kafka')
    .addOption(
      new Option('--format <format>', 'fixture file format').choices(['jsonl', 'binary']).default('jsonl'),
    )
    .addOption(
      new Option(
        '--encoding <encoding>',
        'value encoding (default: SCHEMA_ENCODING for Kafka, single-object for files)',
      ).choices(SCHEMA_ENCODINGS),
    )
    .option('--topic-prefix <prefix>', 'write to <prefix>agent_events, ... instead of the event topics')
    .option(
      '--create-topics',
      'create missing target topics as fixture topics (retention.ms=-1, kept forever)',
    )
    .option('--json', 'print the summary as JSON')
    .action(async (flags: ProduceFlags) => {
      const target: ProduceTarget = flags.file
        ? { kind: 'file', path: flags.file, format: flags.format }
        : { kind: 'kafka', config: loadConfig() }
      const topics = prefixedTopics(flags.topicPrefix ?? '')
      const baseTime = flags.baseTime ?? Date.now()
      if (target.kind === 'kafka') {
        await prepareProduceTargets(target.config, {
          topics,
          oldestEventTime: baseTime,
          createTopics: flags.createTopics ?? false,
          ...(flags.encoding ? { encoding: flags.encoding } : {}),
        })
      }
      const options: ProduceEventsOptions = {
        target,
        seed: /^-?\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed,
        outOfOrderShare: flags.outOfOrder,
        lateShare: flags.late,
        duplicateShare: flags.duplicates,
        ...(flags.count !== undefined ? { count: flags.count } : {}),
        ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
        ...(flags.rate !== undefined ? { rate: flags.rate } : {}),
        baseTime,
        topics,
        ...(flags.encoding !== undefined ? { encoding: flags.encoding } : {}),
      }
      const progress = progressReporter()
      const controller = new AbortController()
      const stop = () => controller.abort()
      process.once('SIGINT', stop)
      try {
        const summary = await produceEvents({ ...options, signal: controller.signal }, (p) =>
          progress.update(
            { done: p.written, total: p.total, elapsedMs: p.elapsedMs, unit: 'events' },
            p.done,
          ),
        )
        if (flags.json) printJson(summary)
        else {
          const topics = Object.entries(summary.byTopic)
            .map(([t, n]) => `${t} ${n}`)
            .join(', ')
          process.stdout.write(
            `wrote ${summary.written} events in ${(summary.elapsedMs / 1000).toFixed(1)} s (${topics}); ` +
              `${summary.duplicates} duplicates, ${summary.outOfOrder} out of order, ${summary.late} late\n`,
          )
        }
      } finally {
        process.off('SIGINT', stop)
      }
    })
}
