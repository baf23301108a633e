// `agent-party groups list|describe|reset`: the operations guide's kafka-consumer-groups jobs. The
// work is in ops/groups.ts (and api/lag/group-lag.ts for the lag); this file parses and prints.
import { type Command, InvalidArgumentError } from 'commander'
import { loadConfig } from '../../config/config.js'
import {
  describeGroup,
  type GroupDescription,
  type GroupResetReport,
  type GroupSummary,
  listGroups,
  type OffsetTarget,
  resetGroupOffsets,
} from '../../ops/groups.js'
import { printJson, table } from '../output.js'

function offsetNumber(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError('expected a whole number >= 0')
  return Number(value)
}

function printList(groups: readonly GroupSummary[]): void {
  if (groups.length === 0) {
    process.stdout.write('no consumer groups\n')
    return
  }
  process.stdout.write(
    table(
      ['GROUP', 'STATE', 'MEMBERS', 'PROTOCOL'],
      groups.map((g) => [
        g.id,
        g.state,
        String(g.members),
        [g.protocolType, g.protocol].filter((p) => p !== '').join('/') || '-',
      ]),
    ),
  )
}

function printDescription(d: GroupDescription): void {
  const protocol = [d.protocolType, d.protocol].filter((p) => p !== '').join('/') || '-'
  process.stdout.write(`group ${d.id}: ${d.state}, ${d.members} member(s), protocol ${protocol}\n\n`)
  if (d.memberList.length > 0) {
    // One row per member and topic; the member's columns only on its first row.
    const rows = d.memberList.flatMap((m) => {
      const member = [m.groupInstanceId ?? m.id, m.clientId, m.clientHost.replace(/^\//, '')]
      if (m.assignments.length === 0) return [[...member, '-', '-']]
      return m.assignments.map((a, i) => [
        ...(i === 0 ? member : ['', '', '']),
        a.topic,
        a.partitions.join(','),
      ])
    })
    process.stdout.write(table(['MEMBER', 'CLIENT', 'HOST', 'TOPIC', 'PARTITIONS'], rows))
    process.stdout.write('\n')
  }
  if (d.partitions.length === 0) {
    process.stdout.write('no committed offsets\n')
    return
  }
  process.stdout.write(
    table(
      ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'LAG SECONDS'],
      d.partitions.map((p) => [
        p.topic,
        String(p.partition),
        String(p.committed),
        String(p.end),
        String(p.lag),
        p.lagSeconds === null ? 'unknown' : p.lagSeconds.toFixed(1),
      ]),
    ),
  )
}

function printReset(r: GroupResetReport): void {
  const title = r.dryRun
    ? `dry run, nothing changed: group ${r.groupId} would move`
    : `group ${r.groupId} moved`
  process.stdout.write(`${title}\n`)
  process.stdout.write(
    table(
      ['TOPIC', 'PARTITION', 'BEFORE', 'AFTER'],
      r.offsets.map((o) => [
        o.topic,
        String(o.partition),
        o.before === null ? '-' : String(o.before),
        `${o.after}${o.clamped ? ' (outside the log: moved to its nearest end)' : ''}`,
      ]),
    ),
  )
}

export function registerGroupsCommand(program: Command): void {
  const groups = program
    .command('groups')
    .description("List, describe and reset consumer groups (as Kafka's kafka-consumer-groups does)")
  groups
    .command('list')
    .description('Every consumer group of the cluster: id, state, members and protocol')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await listGroups(loadConfig().kafka)
      if (options.json) printJson(list)
      else printList(list)
    })
  groups
    .command('describe')
    .description(
      "A group's members with their assigned partitions, and per partition: the committed offset, the " +
        'end (the last stable offset, what a read_committed consumer reaches), the lag in messages, and ' +
        'the lag in seconds: the age of the first record the group has not consumed (now minus its ' +
        "timestamp, read with one small fetch per lagging partition; 0 when caught up). The API's " +
        'kafka_consumergroup_lag_seconds is an estimate instead: the committed offset placed on the end ' +
        'offsets it sampled over time; the two differ when producers set the record timestamps ' +
        "(event time) or when the records are older than the exporter's samples",
    )
    .argument('<group>', 'the group id')
    .option('--json', 'print JSON')
    .action(async (groupId: string, options: { json?: boolean }) => {
      const kafka = loadConfig().kafka
      const description = await describeGroup(kafka, groupId)
      if (options.json) printJson(description)
      else printDescription(description)
    })
  groups
    .command('reset')
    .description(
      "Move a group's committed offsets (every partition it has offsets for, or every partition of " +
        '--topic) and print them before and after. Refused (exit 5, naming the members) while the group ' +
        'has live members: stop every instance first. --to-latest is the last stable offset; a ' +
        "--to-offset outside a partition's log is moved to its nearest end",
    )
    .argument('<group>', 'the group id')
    .option('--to-earliest', 'to the earliest offset still in the log')
    .option('--to-latest', 'to the end (the last stable offset)')
    .option('--to-offset <n>', 'to offset n', offsetNumber)
    .option('--topic <topic>', 'only this topic (all its partitions)')
    .option('--dry-run', 'print what would change, change nothing')
    .option('--json', 'print JSON')
    .action(
      async (
        groupId: string,
        options: {
          toEarliest?: boolean
          toLatest?: boolean
          toOffset?: number
          topic?: string
          dryRun?: boolean
          json?: boolean
        },
        command: Command,
      ) => {
        const targets: OffsetTarget[] = [
          ...(options.toEarliest ? [{ to: 'earliest' } as const] : []),
          ...(options.toLatest ? [{ to: 'latest' } as const] : []),
          ...(options.toOffset !== undefined ? [{ to: 'offset', offset: options.toOffset } as const] : []),
        ]
        const [target] = targets
        if (targets.length !== 1 || target === undefined)
          command.error('error: name exactly one of --to-earliest, --to-latest, --to-offset <n>', {
            exitCode: 2,
          })
        const report = await resetGroupOffsets(loadConfig().kafka, groupId, target as OffsetTarget, {
          ...(options.topic !== undefined ? { topic: options.topic } : {}),
          dryRun: options.dryRun ?? false,
        })
        if (options.json) printJson(report)
        else printReset(report)
      },
    )
}
