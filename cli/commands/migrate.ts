// `agent-party migrate up|down|status`: the graph schema migrations (the guide's rollback procedure).
import type { Command } from 'commander'
import { loadConfig } from '../../config/config.js'
import { migrateDown, migrateUp, migrationStatus } from '../../ops/migrations.js'
import { createNeo4jDriver } from '../../sinks/neo4j/driver.js'
import { wholeNumber } from '../arguments.js'
import { printJson } from '../output.js'

export function registerMigrateCommand(program: Command): void {
  const migrate = program
    .command('migrate')
    .description('Apply, roll back or list the Neo4j schema migrations')
  migrate
    .command('up')
    .description('Apply every pending migration (or up to --to)')
    .option('--to <version>', 'stop after this version', wholeNumber)
    .action((options: { to?: number }) =>
      withDriver(async (driver, database) => {
        const applied = await migrateUp(driver, { database, to: options.to })
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n')
      }),
    )
  migrate
    .command('down')
    .description('Roll back the last applied migration (or the last --steps)')
    .option('--steps <n>', 'how many to roll back', wholeNumber, 1)
    .action((options: { steps: number }) =>
      withDriver(async (driver, database) => {
        const undone = await migrateDown(driver, { database, steps: options.steps })
        process.stdout.write(undone.length ? `rolled back: ${undone.join(', ')}\n` : 'nothing to roll back\n')
      }),
    )
  migrate
    .command('status')
    .description('List the migrations and whether each is applied')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withDriver(async (driver, database) => {
        const states = await migrationStatus(driver, { database })
        if (options.json) return printJson(states)
        for (const s of states) {
          process.stdout.write(
            `${String(s.version).padStart(3)}  ${s.applied ? 'applied' : 'pending'}  ${s.name}\n`,
          )
        }
      }),
    )
}

async function withDriver(
  work: (driver: ReturnType<typeof createNeo4jDriver>, database: string) => Promise<void>,
) {
  const config = loadConfig()
  const driver = createNeo4jDriver(config.neo4j)
  try {
    await work(driver, config.neo4j.database)
  } finally {
    await driver.close()
  }
}
