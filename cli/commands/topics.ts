// `agent-party topics create|describe`: the operations guide's kafka-topics jobs. The work is in
// ops/topics.ts; this file parses and prints.
import { type Command, InvalidArgumentError } from 'commander'
import { loadConfig } from '../../config/config.js'
import {
  createTopics,
  describeTopicReports,
  type TopicCreateOutcome,
  type TopicReport,
} from '../../ops/topics.js'
import { wholeNumber } from '../arguments.js'
import { printJson, table } from '../output.js'

/** retention.ms: a whole number of milliseconds, or -1 (kept forever). */
export function retentionMs(value: string): number {
  if (!/^(-1|\d+)$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError('expected a whole number of milliseconds, or -1 (kept forever)')
  return Number(value)
}

/** One `--config name=value`, added to those before it. */
export function topicConfig(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const match = /^([A-Za-z0-9._-]+)=(.+)$/.exec(value)
  if (!match?.[1] || match[2] === undefined)
    throw new InvalidArgumentError('expected name=value, e.g. --config min.insync.replicas=2')
  return { ...previous, [match[1]]: match[2] }
}

function printCreated(outcomes: readonly TopicCreateOutcome[]): void {
  const what = (o: TopicCreateOutcome) => {
    const set = Object.entries(o.configsSet).map(([k, v]) => `${k}=${v}`)
    if (o.action === 'created') return 'created'
    if (o.action === 'partitions-increased')
      return `partitions raised from ${o.partitions.before}${set.length ? `; set ${set.join(', ')}` : ''}`
    if (o.action === 'configs-set') return `set ${set.join(', ')}`
    return 'already as asked'
  }
  process.stdout.write(
    table(
      ['TOPIC', 'PARTITIONS', 'RESULT'],
      outcomes.map((o) => [o.topic, String(o.partitions.after), what(o)]),
    ),
  )
}

function printDescribed(reports: readonly TopicReport[]): void {
  const blocks = reports.map((r) => {
    const others = Object.entries(r.configs).map(([k, v]) => `${k}=${v}`)
    const head =
      `topic ${r.topic}: ${r.partitions} partition(s), replication ${r.replicationFactor}, ` +
      `retention.ms ${r.retentionMs ?? 'unknown'}, cleanup.policy ${r.cleanupPolicy ?? 'unknown'}\n` +
      `  other configs: ${others.length > 0 ? others.join(', ') : 'none'}\n`
    return (
      head +
      table(
        ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'EARLIEST', 'LATEST'],
        r.partitionOffsets.map((p) => [
          String(p.partition),
          String(p.leader),
          p.replicas.join(','),
          p.isr.join(','),
          String(p.earliest),
          String(p.latest),
        ]),
      )
    )
  })
  process.stdout.write(blocks.join('\n'))
}

export function registerTopicsCommand(program: Command): void {
  const topics = program
    .command('topics')
    .description("Create and describe Kafka topics (as Kafka's kafka-topics does), the project's by default")
  topics
    .command('create')
    .description(
      "Create the named topics, or without names the project's: the four event topics, the processor's " +
        'output topics and its late-record and dead-letter topics, with their definitions (what provision ' +
        'and the processor create). Options override the definition. On an existing topic: the configs ' +
        'given are set; a higher partition count is refused (exit 5, nothing changed: keys move to other ' +
        "partitions, so keyed state and co-partitioning break: the processor's state stores and joins no " +
        'longer line up) unless --force; a lower one is impossible in Kafka (exit 4); an existing topic ' +
        'that differs from its definition in a config not given is reported (exit 4)',
    )
    .argument('[names...]', "topic names (default: the project's topics)")
    .option('--partitions <n>', "partition count (default: the definition's, else the broker's)", wholeNumber)
    .option('--retention-ms <ms>', 'retention.ms (-1: kept forever)', retentionMs)
    .option('--config <name=value>', 'a topic config (repeat for more)', topicConfig)
    .option('--force', 'raise the partition count of existing topics even so')
    .option('--json', 'print JSON')
    .action(
      async (
        names: string[],
        options: {
          partitions?: number
          retentionMs?: number
          config?: Record<string, string>
          force?: boolean
          json?: boolean
        },
      ) => {
        const outcomes = await createTopics(loadConfig(), {
          names,
          ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
          ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
          ...(options.config !== undefined ? { configs: options.config } : {}),
          force: options.force ?? false,
        })
        if (options.json) printJson(outcomes)
        else printCreated(outcomes)
      },
    )
  topics
    .command('describe')
    .description(
      "Describe the named topics, or without names the project's: partitions, replication, retention, " +
        'cleanup policy, the other configs set on the topic, and per partition its leader, replicas, ' +
        'in-sync replicas and its earliest and latest offsets (log start and high watermark). A topic ' +
        'that does not exist fails the command, naming it',
    )
    .argument('[names...]', "topic names (default: the project's topics)")
    .option('--json', 'print JSON')
    .action(async (names: string[], options: { json?: boolean }) => {
      const reports = await describeTopicReports(loadConfig(), names)
      if (options.json) printJson(reports)
      else printDescribed(reports)
    })
}
