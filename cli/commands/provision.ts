// `agent-party provision`: the topics, graph schema and archive bucket, against the configured cluster.
import type { Command } from 'commander'
import { loadConfig } from '../../config/config.js'
import { provision } from '../../ops/provision.js'
import { printProvisionReport } from '../output.js'

export function registerProvisionCommand(program: Command): void {
  program
    .command('provision')
    .description(
      'Create the event topics, apply the graph migrations and create the archive bucket (idempotent); ' +
        'an existing topic with other partitions or retention is reported and exits 4',
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      const report = await provision(loadConfig())
      printProvisionReport(report, options.json)
    })
}
