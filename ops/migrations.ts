// Applies and rolls back the graph schema migrations of deploy/neo4j, recording each applied
// version as a (:SchemaMigration) node in the graph itself, so that the graph says which schema
// it has. Neo4j refuses schema changes and data writes in one transaction, so every statement
// runs in its own; the statements are idempotent, which makes an interrupted run safe to repeat.
import type { Driver } from 'neo4j-driver'
import { MIGRATIONS, type Migration } from '../deploy/neo4j/migrations.js'

export interface MigrationState {
  version: number
  name: string
  applied: boolean
  appliedAt?: string
}

export interface MigrateOptions {
  database?: string
  migrations?: readonly Migration[]
}

const BOOKKEEPING =
  'CREATE CONSTRAINT schema_migration_version IF NOT EXISTS FOR (m:SchemaMigration) REQUIRE m.version IS UNIQUE'

export async function migrationStatus(
  driver: Driver,
  options: MigrateOptions = {},
): Promise<MigrationState[]> {
  const migrations = sorted(options.migrations ?? MIGRATIONS)
  const applied = await appliedVersions(driver, options.database)
  return migrations.map((m) => {
    const at = applied.get(m.version)
    return { version: m.version, name: m.name, applied: at !== undefined, ...(at ? { appliedAt: at } : {}) }
  })
}

/** Applies every pending migration up to `to` (default: all), in order. Returns the versions applied. */
export async function migrateUp(
  driver: Driver,
  options: MigrateOptions & { to?: number } = {},
): Promise<number[]> {
  await driver.executeQuery(BOOKKEEPING, {}, { database: options.database })
  const applied = await appliedVersions(driver, options.database)
  const done: number[] = []
  for (const m of sorted(options.migrations ?? MIGRATIONS)) {
    if (options.to !== undefined && m.version > options.to) break
    if (applied.has(m.version)) continue
    for (const statement of m.up) await driver.executeQuery(statement, {}, { database: options.database })
    await driver.executeQuery(
      'MERGE (m:SchemaMigration {version: $version}) SET m.name = $name, m.applied_at = datetime()',
      { version: m.version, name: m.name },
      { database: options.database },
    )
    done.push(m.version)
  }
  return done
}

/** Rolls back the last `steps` applied migrations (default 1), newest first. Returns the versions rolled back. */
export async function migrateDown(
  driver: Driver,
  options: MigrateOptions & { steps?: number } = {},
): Promise<number[]> {
  const steps = options.steps ?? 1
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`steps must be a whole number >= 1, got ${steps}`)
  const byVersion = new Map((options.migrations ?? MIGRATIONS).map((m) => [m.version, m]))
  const applied = [...(await appliedVersions(driver, options.database)).keys()].sort((a, b) => b - a)
  const undone: number[] = []
  for (const version of applied.slice(0, steps)) {
    const m = byVersion.get(version)
    if (!m)
      throw new Error(`Graph records migration ${version}, which this version of the code does not know`)
    for (const statement of m.down) await driver.executeQuery(statement, {}, { database: options.database })
    await driver.executeQuery(
      'MATCH (m:SchemaMigration {version: $version}) DELETE m',
      { version },
      { database: options.database },
    )
    undone.push(version)
  }
  return undone
}

async function appliedVersions(driver: Driver, database: string | undefined): Promise<Map<number, string>> {
  const { records } = await driver.executeQuery(
    'MATCH (m:SchemaMigration) RETURN m.version AS version, toString(m.applied_at) AS at',
    {},
    { database },
  )
  return new Map(records.map((r) => [Number(r.get('version')), String(r.get('at'))]))
}

function sorted(migrations: readonly Migration[]): Migration[] {
  const out = [...migrations].sort((a, b) => a.version - b.version)
  out.forEach((m, i) => {
    if (i > 0 && out[i - 1]?.version === m.version)
      throw new Error(`Two migrations have version ${m.version}`)
  })
  return out
}
