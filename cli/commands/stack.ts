// `agent-party stack up|down|status|logs|reset`: the local stack of deploy/local (Kafka, Neo4j,
// Redis, S3, Schema Registry, no Docker). `up` also provisions it (topics, graph schema, bucket).
import type { Command } from 'commander'
import { loadConfig } from '../../config/config.js'
import {
  type ServiceName,
  type StackOptions,
  stackDown,
  stackLogs,
  stackReset,
  stackStatus,
  stackUp,
} from '../../deploy/local/stack.js'
import { provision } from '../../ops/provision.js'
import { listOf, oneOf, wholeNumber } from '../arguments.js'
import { printJson, printProvisionReport } from '../output.js'

const SERVICES: readonly ServiceName[] = ['kafka', 'neo4j', 'redis', 's3', 'registry']

interface CommonOptions {
  dir?: string
  services?: ServiceName[]
}

function stackOptions(options: CommonOptions): StackOptions {
  return {
    ...(options.dir ? { dir: options.dir } : {}),
    ...(options.services ? { services: options.services } : {}),
    log: (line: string) => process.stderr.write(`${line}\n`),
  }
}

export function registerStackCommand(program: Command): void {
  const stack = program
    .command('stack')
    .description(
      'Run the local stack without Docker: Kafka 4.4 (KRaft), Neo4j 5.26, Redis 7, s3proxy, Apicurio Registry. ' +
        'State lives in .stack/ (or AGENT_PARTY_STACK_DIR); ports can be moved with STACK_*_PORT variables.',
    )
  const common = (cmd: Command) =>
    cmd
      .option(
        '--dir <path>',
        'stack folder (default: .stack in the current directory, or AGENT_PARTY_STACK_DIR)',
      )
      .option('--services <list>', `comma-separated subset of ${SERVICES.join(', ')}`, listOf(SERVICES))

  common(stack.command('up'))
    .description(
      'Download what is missing, start every service not yet running, wait until each answers, provision',
    )
    .option('--no-provision', 'skip creating topics, graph schema and bucket')
    .option('--json', 'print the environment as JSON instead of KEY=value lines')
    .action(async (options: CommonOptions & { provision: boolean; json?: boolean }) => {
      const env = await stackUp(stackOptions(options))
      const all = !options.services || SERVICES.every((s) => options.services?.includes(s))
      if (options.provision && all) {
        // The stack's own addresses win over whatever the shell exports: `stack up` provisions the stack.
        // On stderr: stdout carries only the environment, for scripts to read.
        printProvisionReport(await provision(loadConfig({ ...process.env, ...env })), false, process.stderr)
      }
      if (options.json) printJson(env)
      else for (const [k, v] of Object.entries(env)) process.stdout.write(`${k}=${v}\n`)
    })

  common(stack.command('down'))
    .description('Stop the processes this stack started (by their pid files, never by name)')
    .action(async (options: CommonOptions) => {
      await stackDown(stackOptions(options))
    })

  common(stack.command('status'))
    .description('Show each service: running, ready, pid, port, memory')
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & { json?: boolean }) => {
      const states = await stackStatus(stackOptions(options))
      if (options.json) return printJson(states)
      for (const s of states) {
        const rss = s.rssBytes ? `${Math.round(s.rssBytes / 2 ** 20)} MiB` : '-'
        const state = s.running ? (s.ready ? 'ready' : 'starting') : 'stopped'
        process.stdout.write(
          `${s.name.padEnd(9)} ${state.padEnd(9)} pid ${String(s.pid ?? '-').padEnd(8)} port ${s.port}  rss ${rss}\n`,
        )
      }
    })

  stack
    .command('logs')
    .description('Print the last lines of a service log')
    .argument('<service>', SERVICES.join(' | '), oneOf(SERVICES))
    .option('--dir <path>', 'stack folder')
    .option('-n, --lines <n>', 'how many lines', wholeNumber, 100)
    .action(async (service: ServiceName, options: { dir?: string; lines: number }) => {
      const text = await stackLogs(service, { ...stackOptions(options), lines: options.lines })
      process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`)
    })

  common(stack.command('reset'))
    .description('Stop the stack and delete its data (downloaded jars are kept)')
    .action(async (options: CommonOptions) => {
      await stackReset(stackOptions(options))
    })
}
