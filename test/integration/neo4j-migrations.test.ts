// The graph schema against the real Neo4j: the guide's indexes in place after provisioning, a
// second run is a no-op, and rolling back one version removes exactly that version's index.
// This is the one test file that changes the shared schema; it restores it before it ends.
import { afterAll, describe, expect, it } from 'vitest'
import { MIGRATIONS } from '../../deploy/neo4j/migrations.js'
import { migrateDown, migrateUp, migrationStatus } from '../../ops/migrations.js'
import { createNeo4jDriver } from '../../sinks/neo4j/driver.js'
import { stackConfig } from '../support/stack-env.js'

const config = stackConfig()
const driver = createNeo4jDriver(config.neo4j)
const database = config.neo4j.database

afterAll(async () => {
  await migrateUp(driver, { database })
  await driver.close()
})

async function schemaNames(): Promise<{ indexes: string[]; constraints: string[] }> {
  const indexes = await driver.executeQuery(
    'SHOW INDEXES YIELD name, type WHERE type <> "LOOKUP" RETURN name',
    {},
    { database },
  )
  const constraints = await driver.executeQuery('SHOW CONSTRAINTS YIELD name RETURN name', {}, { database })
  return {
    indexes: indexes.records.map((r) => String(r.get('name'))).sort(),
    constraints: constraints.records.map((r) => String(r.get('name'))).sort(),
  }
}

const guideIndexes = [
  'agent_id_index',
  'agent_status_index',
  'agent_template_index',
  'capability_category_index',
  'capability_name_index',
  'task_id_index',
  'task_priority_index',
  'team_id_index',
  'team_status_index',
]

describe('graph migrations', () => {
  it('are applied: SHOW INDEXES and SHOW CONSTRAINTS list the guide indexes and uniqueness constraints', async () => {
    await migrateUp(driver, { database })
    const { indexes, constraints } = await schemaNames()
    expect(indexes).toEqual(expect.arrayContaining(guideIndexes))
    expect(constraints).toEqual(
      expect.arrayContaining(['agent_id_index', 'capability_name_index', 'task_id_index', 'team_id_index']),
    )
    const status = await migrationStatus(driver, { database })
    expect(status.every((s) => s.applied)).toBe(true)
    expect(status.map((s) => s.version)).toEqual(MIGRATIONS.map((m) => m.version))
  })

  it('change nothing on a second run', async () => {
    const before = await schemaNames()
    expect(await migrateUp(driver, { database })).toEqual([])
    expect(await schemaNames()).toEqual(before)
  })

  it('roll back exactly the last version, and apply it again', async () => {
    const before = await schemaNames()
    const last = MIGRATIONS[MIGRATIONS.length - 1]
    expect(await migrateDown(driver, { database })).toEqual([last?.version])
    const after = await schemaNames()
    // Exactly what the last migration's down statements name is gone (a constraint's backing index
    // with it); nothing else moved.
    const named = new Set(
      (last?.down ?? []).flatMap((s) => [...s.matchAll(/(?:INDEX|CONSTRAINT) (\w+)/g)].map((m) => m[1])),
    )
    expect(named.size).toBeGreaterThan(0)
    expect(after.indexes).toEqual(before.indexes.filter((n) => !named.has(n)))
    expect(after.constraints).toEqual(before.constraints.filter((n) => !named.has(n)))
    const status = await migrationStatus(driver, { database })
    expect(status.filter((s) => !s.applied).map((s) => s.version)).toEqual([last?.version])

    expect(await migrateUp(driver, { database })).toEqual([last?.version])
    expect(await schemaNames()).toEqual(before)
  })

  it('enforce uniqueness of agent ids (Community edition: IS UNIQUE)', async () => {
    const id = `migrations-test-${Date.now()}`
    // Both in one statement: the Neo4j sink's test resets the graph's labels while files run in
    // parallel, which could delete a first node created on its own before the second is tried.
    await expect(
      driver.executeQuery('CREATE (:Agent {id: $id}) CREATE (:Agent {id: $id})', { id }, { database }),
    ).rejects.toThrow(/already exists/)
    const { records } = await driver.executeQuery(
      'MATCH (a:Agent {id: $id}) RETURN count(a) AS n',
      { id },
      {
        database,
      },
    )
    expect(Number(records[0]?.get('n'))).toBe(0)
  })
})
