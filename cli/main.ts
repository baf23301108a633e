#!/usr/bin/env node
// The `agent-party` command: parses arguments and hands over to the layers. It holds no logic of
// its own beyond turning errors into documented exit codes and readable messages.
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError } from 'commander'
import { ConfigError } from '../config/config.js'
import { TopicMismatchError } from '../kafka/topics.js'
import { RestoreRefusedError } from '../ops/backup.js'
import { ReplayDifferenceError } from '../ops/replay.js'
import { ResetRefusedError } from '../ops/reset.js'
import { SchemaMismatchError } from '../ops/schemas.js'
import { PartitionIncreaseRefusedError } from '../ops/topics.js'
import { ProcessorConfigError } from '../processors/config-error.js'
import { registerBackupCommand } from './commands/backup.js'
import { registerConfigCommand } from './commands/config.js'
import { registerDemoCommand } from './commands/demo.js'
import { registerDescribeCommand } from './commands/describe.js'
import { registerGroupsCommand } from './commands/groups.js'
import { registerMigrateCommand } from './commands/migrate.js'
import { registerProduceCommand } from './commands/produce.js'
import { registerProvisionCommand } from './commands/provision.js'
import { registerReplayCommand } from './commands/replay.js'
import { registerResetCommand } from './commands/reset.js'
import { registerRunCommand } from './commands/run.js'
import { registerSchemasCommand } from './commands/schemas.js'
import { registerStackCommand } from './commands/stack.js'
import { registerTokenCommand } from './commands/token.js'
import { registerTopicsCommand } from './commands/topics.js'
import { registerUsersCommand } from './commands/users.js'
import { EXIT, EXIT_CODE_HELP, type ExitCode } from './exit-codes.js'

export function buildProgram(): Command {
  const program = new Command('agent-party')
    .description('Agent Party Streams: exactly-once stream processing of the Agent Party events on Kafka')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\n${EXIT_CODE_HELP}`)
  registerStackCommand(program)
  registerDemoCommand(program)
  registerProvisionCommand(program)
  registerMigrateCommand(program)
  registerProduceCommand(program)
  registerConfigCommand(program)
  registerRunCommand(program)
  registerUsersCommand(program)
  registerTokenCommand(program)
  registerDescribeCommand(program)
  registerGroupsCommand(program)
  registerResetCommand(program)
  registerReplayCommand(program)
  registerTopicsCommand(program)
  registerSchemasCommand(program)
  registerBackupCommand(program)
  // Every subcommand reports usage errors through exitOverride, so they map to EXIT.USAGE.
  const override = (cmd: Command) => {
    cmd.exitOverride()
    for (const sub of cmd.commands) override(sub)
  }
  override(program)
  return program
}

export async function run(argv: string[]): Promise<ExitCode> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' })
    return EXIT.OK
  } catch (error) {
    return report(error)
  }
}

function report(error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    // help and version "errors" are commander's way of stopping after printing them
    return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE
  }
  if (error instanceof ConfigError || error instanceof ProcessorConfigError) {
    process.stderr.write(`${error.message}\n`)
    return EXIT.CONFIG
  }
  if (error instanceof TopicMismatchError || error instanceof SchemaMismatchError) {
    process.stderr.write(`${error.message}\n`)
    return EXIT.MISMATCH
  }
  if (
    error instanceof ResetRefusedError ||
    error instanceof PartitionIncreaseRefusedError ||
    error instanceof RestoreRefusedError
  ) {
    // A pipeline or group reset refused before anything changed (live members, open transactions).
    process.stderr.write(`${error.message}\n`)
    return EXIT.REFUSED
  }
  if (error instanceof ReplayDifferenceError) {
    process.stderr.write(`${error.message}\n`)
    return EXIT.DIFFERENT
  }
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`agent-party: ${message}\n`)
  if (process.env.DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`)
  return EXIT.FAILURE
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await run(process.argv.slice(2))
}
