// `agent-party backup create|list|restore|verify|prune`: graph backups to S3 (the operations
// guide's "Backup Strategy"). The work is in ops/backup.ts; this file parses, reports progress on
// stderr and prints results (text, or JSON with --json).
import { type Command, InvalidArgumentError } from 'commander'
import { type Config, loadConfig } from '../../config/config.js'
import {
  type BackupProgress,
  backupGraph,
  listBackups,
  pruneBackups,
  restoreGraph,
  verifyRestore,
} from '../../ops/backup.js'
import { timeOfBackupId } from '../../ops/backup-format.js'
import { wholeNumber } from '../arguments.js'
import { printJson } from '../output.js'
import { progressReporter } from '../progress.js'

function backupId(value: string): string {
  if (timeOfBackupId(value) === undefined)
    throw new InvalidArgumentError('expected a backup id such as 20261127T150638123Z (see `backup list`)')
  return value
}

function boltUri(value: string): string {
  try {
    const scheme = new URL(value).protocol.replace(/:$/, '')
    if (['bolt', 'bolt+s', 'bolt+ssc', 'neo4j', 'neo4j+s', 'neo4j+ssc'].includes(scheme)) return value
  } catch {}
  throw new InvalidArgumentError('expected a Bolt URI such as bolt://127.0.0.1:7688')
}

/** Progress lines per phase on stderr; the last line of a phase is always printed. */
function progress(): BackupProgress {
  let started = Date.now()
  let reporter = progressReporter()
  let phase = ''
  return (p) => {
    if (p.phase !== phase) {
      // Each phase its own rate, time left and print interval.
      phase = p.phase
      started = Date.now()
      reporter = progressReporter()
      process.stderr.write(`${phase}:\n`)
    }
    reporter.update(
      { done: p.done, total: p.total, unit: p.unit, elapsedMs: Date.now() - started },
      p.done >= p.total,
    )
  }
}

interface TargetOptions {
  targetUri?: string
  targetDatabase?: string
}

function targetOf(config: Config, options: TargetOptions): Config['neo4j'] {
  return {
    ...config.neo4j,
    ...(options.targetUri ? { uri: options.targetUri } : {}),
    ...(options.targetDatabase ? { database: options.targetDatabase } : {}),
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`

export function registerBackupCommand(program: Command): void {
  const backup = program
    .command('backup')
    .description(
      'Back up the Neo4j graph to S3 (BACKUP_BUCKET), restore a backup into an empty database, verify a restore, ' +
        'list and prune backups. Take backups with the Neo4j sink stopped for a consistent point in time.',
    )
  const withTarget = (cmd: Command) =>
    cmd
      .option('--target-uri <uri>', 'Bolt URI of the database to restore into (default: NEO4J_URI)', boltUri)
      .option('--target-database <name>', 'database name there (default: NEO4J_DATABASE)')

  backup
    .command('create')
    .description("Export every node and relationship (the sinks' offsets included) to backups/<id>/")
    .option('--chunk-records <n>', 'lines per object at most', wholeNumber, 20_000)
    .option('--json', 'print the manifest as JSON')
    .action(async (options: { chunkRecords: number; json?: boolean }) => {
      const manifest = await backupGraph(loadConfig(), {
        chunkRecords: options.chunkRecords,
        onProgress: progress(),
      })
      if (options.json) return printJson(manifest)
      const bytes = manifest.objects.reduce((sum, o) => sum + o.bytes, 0)
      process.stdout.write(
        `backup ${manifest.id}: ${manifest.counts.nodes} nodes, ${manifest.counts.relationships} relationships, ` +
          `${manifest.objects.length} objects, ${mib(bytes)}, schema version ${manifest.schemaVersion}\n`,
      )
    })

  backup
    .command('list')
    .description('List the backups, newest first')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const backups = await listBackups(loadConfig())
      if (options.json) return printJson(backups)
      if (backups.length === 0) return void process.stdout.write('no backups\n')
      for (const b of backups) {
        process.stdout.write(
          b.complete
            ? `${b.id}  ${b.createdAt}  ${b.nodes} nodes  ${b.relationships} relationships  ${mib(b.bytes ?? 0)}  schema ${b.schemaVersion}\n`
            : `${b.id}  ${b.createdAt}  incomplete: ${b.problem}\n`,
        )
      }
    })

  withTarget(
    backup
      .command('restore')
      .description(
        "Restore a backup into an empty database: checks every object's sha256 first, applies the migrations, " +
          'loads in batches. Refused (exit 5, nothing changed) when the target holds nodes or an object is corrupt',
      )
      .argument('<id>', 'the backup id (see `backup list`)', backupId),
  )
    .option('--force', 'load even though the target database holds nodes (they stay; nothing is merged)')
    .option('--batch-size <n>', 'records per write transaction', wholeNumber, 5_000)
    .option('--json', 'print JSON')
    .action(
      async (id: string, options: TargetOptions & { force?: boolean; batchSize: number; json?: boolean }) => {
        const config = loadConfig()
        const report = await restoreGraph(config, id, {
          target: targetOf(config, options),
          force: options.force === true,
          batchSize: options.batchSize,
          onProgress: progress(),
        })
        if (options.json) return printJson(report)
        process.stdout.write(
          `restored ${report.id}: ${report.nodes} nodes, ${report.relationships} relationships in ${(report.durationMs / 1000).toFixed(1)} s` +
            `${report.migrationsApplied.length > 0 ? `; migrations applied: ${report.migrationsApplied.join(', ')}` : ''}\n`,
        )
      },
    )

  withTarget(
    backup
      .command('verify')
      .description(
        'Compare a restored database with a backup: counts per label and relationship type, and a random sample of nodes with their typed properties. Exit 1 when they differ',
      )
      .argument('<id>', 'the backup id', backupId),
  )
    .option('--sample <n>', 'nodes to compare', wholeNumber, 100)
    .option('--json', 'print JSON')
    .action(async (id: string, options: TargetOptions & { sample: number; json?: boolean }) => {
      const config = loadConfig()
      const report = await verifyRestore(config, id, {
        target: targetOf(config, options),
        sample: options.sample,
        onProgress: progress(),
      })
      if (options.json) printJson(report)
      else {
        for (const d of report.counts)
          process.stdout.write(
            `${d.kind} ${d.name}: ${d.expected} in the backup, ${d.actual} in the database\n`,
          )
        for (const m of report.sampleMismatches)
          process.stdout.write(
            `node not found as backed up: ${m.labels.join(':')} ${JSON.stringify(m.props)}\n`,
          )
        process.stdout.write(
          `${report.ok ? 'equal' : 'DIFFERENT'}: counts ${report.counts.length === 0 ? 'equal' : `differ for ${report.counts.length} names`}, ` +
            `${report.sampled - report.sampleMismatches.length}/${report.sampled} sampled nodes equal\n`,
        )
      }
      if (!report.ok) throw new Error(`the database differs from backup ${id}`)
    })

  backup
    .command('prune')
    .description(
      'Delete backups older than the retention (BACKUP_RETENTION_DAYS, 30); the newest is always kept',
    )
    .option('--retention-days <n>', 'retention in days (default: BACKUP_RETENTION_DAYS)', wholeNumber)
    .option('--json', 'print JSON')
    .action(async (options: { retentionDays?: number; json?: boolean }) => {
      const config = loadConfig()
      const report = await pruneBackups(config, options.retentionDays)
      if (options.json) return printJson(report)
      process.stdout.write(
        `deleted ${report.deleted.length}${report.deleted.length > 0 ? `: ${report.deleted.join(', ')}` : ''}; kept ${report.kept.length}\n`,
      )
    })
}
