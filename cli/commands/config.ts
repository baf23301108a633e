// `agent-party config`: validate the environment and show the configuration it yields (secrets
// masked), or list every variable the project reads.
import type { Command } from 'commander'
import { loadConfig, redactConfig } from '../../config/config.js'
import { variables } from '../../config/env.js'

export function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description('Check and show the configuration read from the environment')
  config
    .command('check', { isDefault: true })
    .description('Validate every variable; print the resulting configuration with secrets masked')
    .action(() => {
      const resolved = loadConfig()
      process.stdout.write(`${JSON.stringify(redactConfig(resolved), null, 2)}\n`)
    })
  config
    .command('variables')
    .description('List every environment variable, its default and expected form')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const rows = Object.entries(variables).map(([name, spec]) => ({
        name,
        default: spec.default,
        expected: spec.expected,
        description: spec.description,
      }))
      if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
      else
        for (const r of rows)
          process.stdout.write(`${r.name}=${r.default}\n    ${r.description}; ${r.expected}\n`)
    })
}
