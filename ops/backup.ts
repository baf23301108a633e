// Graph backups to S3 (the operations guide's "Backup Strategy" without the Enterprise-only
// neo4j-admin online backup): export every node, relationship and the sinks' offset nodes as JSON
// lines (backup-format.ts, typed values of backup-values.ts), restore them into an empty database,
// verify a restore, list and prune backups. Scheduling is the user's (a Kubernetes CronJob).
//
// Consistency: the export is one READ transaction (nodes, then relationships). Neo4j isolates
// transactions at read-committed, not as snapshots, so a writer committing during the export can
// make the backup mix before and after (a relationship whose node was read before it was created:
// restore then reports it as missing and fails). A backup is a consistent point in time when no
// writer runs during it: stop the Neo4j sink (or scale it to 0) for the export; it resumes from the
// offsets it stored, which the backup holds too, so a restored graph continues exactly where it was.
//
// Memory: export streams records and uploads one gzip chunk at a time; restore holds one object
// (at most `chunkRecords` lines) at a time. Restore connects the relationships through a temporary
// label and uniquely constrained property on the restored nodes (their source elementId), removed
// at the end.
import { gunzipSync, gzipSync } from 'node:zlib'
import type { Client } from 'minio'
import neo4j, { type Driver } from 'neo4j-driver'
import type { Config } from '../config/config.js'
import { MIGRATIONS } from '../deploy/neo4j/migrations.js'
import { createNeo4jDriver } from '../sinks/neo4j/driver.js'
import { removeUnder } from '../sinks/s3/archive.js'
import { sha256Hex } from '../sinks/s3/archive-format.js'
import { createS3Client } from '../sinks/s3/client.js'
import { isNotFound, readAll } from '../sinks/s3/manifest.js'
import {
  assertBackupId,
  BACKUP_FORMAT,
  BACKUP_ROOT,
  type BackupManifest,
  type BackupObject,
  backupIdFor,
  backupPrefix,
  backupsToPrune,
  type CountDifference,
  countDifferences,
  cypherName,
  manifestKeyOf,
  type NodeLine,
  type ObjectKind,
  objectKeyOf,
  parseBackupManifest,
  parseNodeLine,
  parseRelationshipLine,
  type RelationshipLine,
  timeOfBackupId,
} from './backup-format.js'
import { decodeProperties, encodeProperties } from './backup-values.js'
import { migrateUp, migrationStatus } from './migrations.js'

export { BackupFormatError, type BackupManifest, type BackupObject } from './backup-format.js'

/** Progress of long work: `done` of `total` units (records, objects). */
export type BackupProgress = (progress: { phase: string; done: number; total: number; unit: string }) => void

export interface BackupOptions {
  /** Lines per object at most (default 20,000). */
  chunkRecords?: number
  /** The export's start time (tests); default now. */
  now?: Date
  onProgress?: BackupProgress
}

export interface RestoreOptions {
  /** The database to restore into (default: config.neo4j, the configured one). */
  target?: Config['neo4j']
  /** Load into a database that already holds nodes (they stay; nothing is merged). Default false. */
  force?: boolean
  /** Records per write transaction (default 5,000). */
  batchSize?: number
  onProgress?: BackupProgress
}

export interface VerifyOptions {
  target?: Config['neo4j']
  /** Nodes of the backup whose properties are compared (default 100). */
  sample?: number
  onProgress?: BackupProgress
}

export interface RestoreReport {
  readonly id: string
  readonly nodes: number
  readonly relationships: number
  readonly migrationsApplied: number[]
  readonly durationMs: number
}

export interface VerifyReport {
  readonly id: string
  readonly ok: boolean
  readonly counts: readonly CountDifference[]
  readonly sampled: number
  /** Sampled nodes not found in the target with the same labels and the same typed properties. */
  readonly sampleMismatches: readonly { readonly labels: readonly string[]; readonly props: unknown }[]
}

export interface BackupInfo {
  readonly id: string
  readonly createdAt: string
  /** False: no (readable) manifest, an unfinished or failed backup; restore refuses it. */
  readonly complete: boolean
  readonly nodes?: number
  readonly relationships?: number
  readonly bytes?: number
  readonly schemaVersion?: number
  readonly problem?: string
}

export interface PruneReport {
  readonly deleted: string[]
  readonly kept: string[]
}

/** Restore refused before it changed anything (a non-empty target, a corrupt object, ...). */
export class RestoreRefusedError extends Error {
  readonly code = 'RESTORE_REFUSED'
  constructor(message: string) {
    super(message)
    this.name = 'RestoreRefusedError'
  }
}

const DEFAULT_CHUNK_RECORDS = 20_000
const DEFAULT_BATCH = 5_000
const RESTORE_LABEL = '__BackupRestore'
const RESTORE_ID = '__backup_id'
const RESTORE_CONSTRAINT = 'backup_restore_id'
const MIGRATION_LABEL = 'SchemaMigration'

/**
 * A driver with lossless integers, a pool of at most 4: the sinks' driver (sinks/neo4j/driver.ts)
 * otherwise reads Integers as JavaScript numbers, which would make them indistinguishable from Floats.
 */
export function openBackupDriver(target: Config['neo4j']): Driver {
  return createNeo4jDriver(
    target,
    {
      maxConnectionPoolSize: Math.min(target.maxPoolSize, 4),
      maxConnectionLifetime: target.maxConnectionLifetimeMs,
    },
    { losslessIntegers: true },
  )
}

/** Exports the whole graph to `backups/<id>/` in config.backup.bucket; returns the manifest. */
export async function backupGraph(config: Config, opts: BackupOptions = {}): Promise<BackupManifest> {
  const chunkRecords = opts.chunkRecords ?? DEFAULT_CHUNK_RECORDS
  if (!Number.isSafeInteger(chunkRecords) || chunkRecords < 1)
    throw new RangeError(`chunkRecords must be a whole number >= 1, got ${chunkRecords}`)
  const started = opts.now ?? new Date()
  const id = backupIdFor(started)
  const bucket = config.backup.bucket
  const s3 = createS3Client(config.s3)
  if (!(await s3.bucketExists(bucket))) await s3.makeBucket(bucket, config.s3.region)
  const database = config.neo4j.database
  const driver = openBackupDriver(config.neo4j)
  const objects: BackupObject[] = []
  const labels: Record<string, number> = {}
  const types: Record<string, number> = {}
  let unlabelled = 0
  try {
    const schemaVersion = Math.max(
      0,
      ...(await migrationStatus(driver, { database })).filter((m) => m.applied).map((m) => m.version),
    )
    const session = driver.session({ database, defaultAccessMode: neo4j.session.READ, fetchSize: 2000 })
    try {
      const tx = await session.beginTransaction()
      try {
        const totals = await tx.run(
          'CALL { MATCH (n) RETURN count(n) AS nodes } CALL { MATCH ()-[r]->() RETURN count(r) AS rels } RETURN nodes, rels',
        )
        const total =
          Number(totals.records[0]?.get('nodes') ?? 0) + Number(totals.records[0]?.get('rels') ?? 0)
        let done = 0
        const progress = () => opts.onProgress?.({ phase: 'export', done, total, unit: 'records' })
        const writer = chunkWriter(s3, bucket, id, chunkRecords, objects)
        const nodes = tx.run(
          'MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props',
        )
        for await (const record of nodes) {
          const nodeLabels = record.get('labels') as string[]
          for (const label of nodeLabels) labels[label] = (labels[label] ?? 0) + 1
          if (nodeLabels.length === 0) unlabelled++
          const line: NodeLine = {
            id: record.get('id') as string,
            labels: nodeLabels,
            props: encodeProperties(record.get('props') as Record<string, unknown>),
          }
          await writer.add('nodes', JSON.stringify(line))
          done++
          if (done % 1000 === 0) progress()
        }
        await writer.flush()
        const rels = tx.run(
          'MATCH (a)-[r]->(b) RETURN elementId(r) AS id, type(r) AS type, elementId(a) AS start, elementId(b) AS end, properties(r) AS props',
        )
        for await (const record of rels) {
          const type = record.get('type') as string
          types[type] = (types[type] ?? 0) + 1
          const line: RelationshipLine = {
            id: record.get('id') as string,
            type,
            start: record.get('start') as string,
            end: record.get('end') as string,
            props: encodeProperties(record.get('props') as Record<string, unknown>),
          }
          await writer.add('relationships', JSON.stringify(line))
          done++
          if (done % 1000 === 0) progress()
        }
        await writer.flush()
        progress()
      } finally {
        // A read transaction has nothing to commit; closing it releases the server's resources.
        await tx.rollback().catch(() => {})
      }
    } finally {
      await session.close()
    }
    const count = (kind: ObjectKind) =>
      objects.filter((o) => o.kind === kind).reduce((sum, o) => sum + o.records, 0)
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      id,
      createdAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      schemaVersion,
      database,
      encoding: 'jsonl+gzip',
      counts: {
        nodes: count('nodes'),
        relationships: count('relationships'),
        labels: sortedRecord(labels),
        unlabelled,
        types: sortedRecord(types),
      },
      objects,
    }
    const body = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`)
    await s3.putObject(bucket, manifestKeyOf(id), body, body.length, { 'Content-Type': 'application/json' })
    return manifest
  } catch (error) {
    // No manifest, no backup: remove what was uploaded so that nothing half-made is left behind.
    await removeUnder(s3, bucket, backupPrefix(id)).catch(() => {})
    throw error
  } finally {
    await driver.close()
  }
}

/** Collects lines into gzip objects of at most `limit` lines, one kind per object. */
function chunkWriter(s3: Client, bucket: string, id: string, limit: number, objects: BackupObject[]) {
  let lines: string[] = []
  let kind: ObjectKind = 'nodes'
  const index: Record<ObjectKind, number> = { nodes: 0, relationships: 0 }
  const flush = async () => {
    if (lines.length === 0) return
    const body = gzipSync(`${lines.join('\n')}\n`)
    const key = objectKeyOf(id, kind, index[kind]++)
    await s3.putObject(bucket, key, body, body.length, { 'Content-Type': 'application/gzip' })
    objects.push({ key, kind, records: lines.length, bytes: body.length, sha256: sha256Hex(body) })
    lines = []
  }
  return {
    async add(of: ObjectKind, line: string): Promise<void> {
      if (of !== kind) await flush()
      kind = of
      lines.push(line)
      if (lines.length >= limit) await flush()
    },
    flush,
  }
}

/** Reads and validates a backup's manifest; a missing one is a clear error naming the id. */
export async function readBackupManifest(config: Config, backupId: string, s3 = createS3Client(config.s3)) {
  const key = manifestKeyOf(assertBackupId(backupId))
  let body: Buffer
  try {
    body = await readAll(await s3.getObject(config.backup.bucket, key))
  } catch (error) {
    if (isNotFound(error) || (error as { code?: unknown }).code === 'NoSuchBucket')
      throw new RestoreRefusedError(
        `backup ${backupId} has no manifest in bucket ${config.backup.bucket} (${key}): it does not exist or did not finish; see \`agent-party backup list\``,
      )
    throw error
  }
  return parseBackupManifest(body, key)
}

async function readObject(s3: Client, bucket: string, object: BackupObject): Promise<Buffer> {
  let body: Buffer
  try {
    body = await readAll(await s3.getObject(bucket, object.key))
  } catch (error) {
    if (isNotFound(error))
      throw new RestoreRefusedError(`backup object ${object.key} is missing from bucket ${bucket}`)
    throw error
  }
  if (body.length !== object.bytes || sha256Hex(body) !== object.sha256)
    throw new RestoreRefusedError(
      `backup object ${object.key} does not match its manifest's size and sha256 (corrupt or changed): nothing was restored from it`,
    )
  return body
}

function linesOf(body: Buffer, key: string): string[] {
  let text: string
  try {
    text = gunzipSync(body).toString('utf8')
  } catch {
    throw new RestoreRefusedError(`backup object ${key} is not gzip`)
  }
  return text.split('\n').filter((line) => line !== '')
}

/** Nodes other than the (:SchemaMigration) records of `migrate up`, which an empty database may have. */
async function dataNodeCount(driver: Driver, database: string): Promise<number> {
  const { records } = await driver.executeQuery(
    `MATCH (n) WHERE NOT n:${MIGRATION_LABEL} RETURN count(n) AS n`,
    {},
    { database },
  )
  return Number(records[0]?.get('n') ?? 0)
}

/**
 * Restores backup `backupId` into an empty database (opts.target, default config.neo4j): checks
 * every object's checksum first, applies the migrations, then loads nodes and relationships in
 * batches with UNWIND. Refuses (RestoreRefusedError, nothing changed) a database that holds nodes
 * unless `force`, a backup of a schema newer than this code, and any corrupt or missing object.
 */
export async function restoreGraph(
  config: Config,
  backupId: string,
  opts: RestoreOptions = {},
): Promise<RestoreReport> {
  const t0 = Date.now()
  const batchSize = opts.batchSize ?? DEFAULT_BATCH
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a whole number >= 1, got ${batchSize}`)
  const target = opts.target ?? config.neo4j
  const s3 = createS3Client(config.s3)
  const bucket = config.backup.bucket
  const manifest = await readBackupManifest(config, backupId, s3)
  const known = Math.max(0, ...MIGRATIONS.map((m) => m.version))
  if (manifest.schemaVersion > known)
    throw new RestoreRefusedError(
      `backup ${backupId} has graph schema version ${manifest.schemaVersion}, newer than this version of agent-party knows (${known}); restore it with a newer one`,
    )
  const driver = openBackupDriver(target)
  const database = target.database
  try {
    const existing = await dataNodeCount(driver, database)
    if (existing > 0 && !opts.force)
      throw new RestoreRefusedError(
        `the target database '${database}' at ${target.uri} is not empty: it holds ${existing} nodes. ` +
          'Restore only into an empty database (a new instance), or pass force (--force) to load the backup beside them',
      )
    // Every checksum before anything is written: a corrupt backup leaves the target untouched.
    let checked = 0
    for (const object of manifest.objects) {
      await readObject(s3, bucket, object)
      opts.onProgress?.({ phase: 'verify', done: ++checked, total: manifest.objects.length, unit: 'objects' })
    }
    const migrationsApplied = await migrateUp(driver, { database })
    await driver.executeQuery(
      `CREATE CONSTRAINT ${RESTORE_CONSTRAINT} IF NOT EXISTS FOR (n:${RESTORE_LABEL}) REQUIRE n.${RESTORE_ID} IS UNIQUE`,
      {},
      { database },
    )
    await driver.executeQuery('CALL db.awaitIndexes(300)', {}, { database })
    const total = manifest.counts.nodes + manifest.counts.relationships
    let done = 0
    const progress = () => opts.onProgress?.({ phase: 'restore', done, total, unit: 'records' })
    let nodes = 0
    let relationships = 0
    let missingEnds = 0
    for (const object of manifest.objects) {
      const lines = linesOf(await readObject(s3, bucket, object), object.key)
      for (let i = 0; i < lines.length; i += batchSize) {
        const slice = lines.slice(i, i + batchSize)
        if (object.kind === 'nodes') {
          const rows = slice.map((line) => parseNodeLine(line, object.key))
          nodes += await loadNodes(driver, database, rows)
        } else {
          const rows = slice.map((line) => parseRelationshipLine(line, object.key))
          const created = await loadRelationships(driver, database, rows)
          relationships += created
          missingEnds += rows.length - created
        }
        done += slice.length
        progress()
      }
    }
    await dropRestoreIds(driver, database)
    if (missingEnds > 0)
      throw new Error(
        `backup ${backupId}: ${missingEnds} relationships reference nodes that are not in the backup ` +
          '(a writer changed the graph during the export; take backups with the Neo4j sink stopped). ' +
          `The other ${nodes} nodes and ${relationships} relationships were restored`,
      )
    return { id: backupId, nodes, relationships, migrationsApplied, durationMs: Date.now() - t0 }
  } finally {
    await driver.close()
  }
}

/** Creates the rows' nodes, one statement per label set; returns how many were written. */
async function loadNodes(driver: Driver, database: string, rows: readonly NodeLine[]): Promise<number> {
  const groups = new Map<string, { labels: readonly string[]; rows: unknown[] }>()
  for (const row of rows) {
    const labels = [...row.labels].sort()
    const key = JSON.stringify(labels)
    const group = groups.get(key) ?? { labels, rows: [] }
    group.rows.push({ id: row.id, props: decodeProperties(row.props) })
    groups.set(key, group)
  }
  let written = 0
  const session = driver.session({ database })
  try {
    await session.executeWrite(async (tx) => {
      written = 0
      for (const { labels, rows: params } of groups.values()) {
        const names = labels.map(cypherName).join(':')
        // `migrate up` already recorded the versions it applied: the backup's records replace
        // theirs (its applied_at times) instead of duplicating a uniquely constrained version.
        const statement = labels.includes(MIGRATION_LABEL)
          ? `UNWIND $rows AS row MERGE (n:${MIGRATION_LABEL} {version: row.props.version}) SET n = row.props SET n:${names}:${RESTORE_LABEL}, n.${RESTORE_ID} = row.id RETURN count(n) AS n`
          : `UNWIND $rows AS row CREATE (n:${RESTORE_LABEL}${names ? `:${names}` : ''}) SET n = row.props, n.${RESTORE_ID} = row.id RETURN count(n) AS n`
        const result = await tx.run(statement, { rows: params })
        written += Number(result.records[0]?.get('n') ?? 0)
      }
    })
  } finally {
    await session.close()
  }
  return written
}

/** Creates the rows' relationships between restored nodes; returns how many were created. */
async function loadRelationships(
  driver: Driver,
  database: string,
  rows: readonly RelationshipLine[],
): Promise<number> {
  const groups = new Map<string, unknown[]>()
  for (const row of rows) {
    const group = groups.get(row.type) ?? []
    group.push({ start: row.start, end: row.end, props: decodeProperties(row.props) })
    groups.set(row.type, group)
  }
  let created = 0
  const session = driver.session({ database })
  try {
    await session.executeWrite(async (tx) => {
      created = 0
      for (const [type, params] of groups) {
        const result = await tx.run(
          `UNWIND $rows AS row
           MATCH (a:${RESTORE_LABEL} {${RESTORE_ID}: row.start})
           MATCH (b:${RESTORE_LABEL} {${RESTORE_ID}: row.end})
           CREATE (a)-[r:${cypherName(type)}]->(b) SET r = row.props
           RETURN count(r) AS n`,
          { rows: params },
        )
        created += Number(result.records[0]?.get('n') ?? 0)
      }
    })
  } finally {
    await session.close()
  }
  return created
}

async function dropRestoreIds(driver: Driver, database: string): Promise<void> {
  // CALL ... IN TRANSACTIONS needs an auto-commit transaction (session.run), not a managed one.
  const session = driver.session({ database })
  try {
    await session.run(
      `MATCH (n:${RESTORE_LABEL}) CALL (n) { REMOVE n:${RESTORE_LABEL} REMOVE n.${RESTORE_ID} } IN TRANSACTIONS OF 10000 ROWS`,
    )
  } finally {
    await session.close()
  }
  await driver.executeQuery(`DROP CONSTRAINT ${RESTORE_CONSTRAINT} IF EXISTS`, {}, { database })
}

/**
 * Compares a restored database with backup `backupId`: node and relationship counts per label and
 * type, and `sample` nodes picked at random from the backup, each looked up by its labels and key
 * properties and compared property by property, types included.
 */
export async function verifyRestore(
  config: Config,
  backupId: string,
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  const sampleSize = opts.sample ?? 100
  const target = opts.target ?? config.neo4j
  const s3 = createS3Client(config.s3)
  const manifest = await readBackupManifest(config, backupId, s3)
  const driver = openBackupDriver(target)
  const database = target.database
  try {
    const labelCounts = await countsBy(
      driver,
      database,
      'MATCH (n) UNWIND labels(n) AS name RETURN name, count(*) AS n',
    )
    const typeCounts = await countsBy(
      driver,
      database,
      'MATCH ()-[r]->() RETURN type(r) AS name, count(*) AS n',
    )
    const counts: CountDifference[] = [
      ...countDifferences('label', manifest.counts.labels, labelCounts),
      ...countDifferences('type', manifest.counts.types, typeCounts),
    ]
    const sample = await sampleNodes(config, manifest, s3, sampleSize)
    const sampleMismatches: { labels: readonly string[]; props: unknown }[] = []
    let checked = 0
    for (const node of sample) {
      if (!(await nodeExists(driver, database, node)))
        sampleMismatches.push({ labels: node.labels, props: node.props })
      opts.onProgress?.({ phase: 'verify', done: ++checked, total: sample.length, unit: 'nodes' })
    }
    return {
      id: backupId,
      ok: counts.length === 0 && sampleMismatches.length === 0,
      counts,
      sampled: sample.length,
      sampleMismatches,
    }
  } finally {
    await driver.close()
  }
}

async function countsBy(driver: Driver, database: string, query: string): Promise<Record<string, number>> {
  const { records } = await driver.executeQuery(query, {}, { database })
  const out: Record<string, number> = {}
  for (const r of records) out[String(r.get('name'))] = Number(r.get('n'))
  return out
}

/** A uniform random sample of the backup's nodes (reservoir sampling over the node objects). */
async function sampleNodes(
  config: Config,
  manifest: BackupManifest,
  s3: Client,
  size: number,
): Promise<NodeLine[]> {
  const reservoir: NodeLine[] = []
  let seen = 0
  for (const object of manifest.objects.filter((o) => o.kind === 'nodes')) {
    for (const line of linesOf(await readObject(s3, config.backup.bucket, object), object.key)) {
      seen++
      if (reservoir.length < size) reservoir.push(parseNodeLine(line, object.key))
      else {
        const j = Math.floor(Math.random() * seen)
        if (j < size) reservoir[j] = parseNodeLine(line, object.key)
      }
    }
  }
  return reservoir
}

/** Properties that identify a node in this graph (the uniquely constrained ones and the offsets' key). */
const KEY_PROPERTIES = ['id', 'name', 'version', 'sink', 'topic', 'partition']

async function nodeExists(driver: Driver, database: string, node: NodeLine): Promise<boolean> {
  const labels = node.labels.map(cypherName).join(':')
  // Equality filters only narrow the candidates (NaN equals nothing, 1 equals 1.0): the typed
  // comparison is the encoded one below. Without a key property, the strings and booleans filter.
  // (Key properties by name, so that the planner uses their indexes; others by parameter.)
  const indexed = KEY_PROPERTIES.filter((k) => k in node.props)
  const others =
    indexed.length > 0
      ? []
      : Object.keys(node.props).filter((k) => ['string', 'boolean'].includes(typeof node.props[k]))
  const props = decodeProperties(node.props)
  const where = [
    ...indexed.map((k) => `n.${k} = $props.${k}`),
    ...others.map((_, i) => `n[$others[${i}]] = $props[$others[${i}]]`),
    'size(labels(n)) = $labelCount',
  ].join(' AND ')
  const { records } = await driver.executeQuery(
    `MATCH (n${labels ? `:${labels}` : ''}) WHERE ${where} RETURN properties(n) AS props LIMIT 1000`,
    { props, others, labelCount: neo4j.int(node.labels.length) },
    { database },
  )
  const expected = canonical(node.props)
  return records.some(
    (r) => canonical(encodeProperties(r.get('props') as Record<string, unknown>)) === expected,
  )
}

function canonical(props: Record<string, unknown>): string {
  return JSON.stringify(sortedRecord(props))
}

/** The backups in config.backup.bucket, newest first. */
export async function listBackups(config: Config): Promise<BackupInfo[]> {
  const s3 = createS3Client(config.s3)
  const bucket = config.backup.bucket
  if (!(await s3.bucketExists(bucket))) return []
  const ids: string[] = []
  for await (const entry of s3.listObjectsV2(bucket, BACKUP_ROOT, false)) {
    const prefix = (entry as { prefix?: string }).prefix
    if (!prefix) continue
    const id = prefix.slice(BACKUP_ROOT.length).replace(/\/$/, '')
    if (timeOfBackupId(id)) ids.push(id)
  }
  const infos = await Promise.all(
    ids.map(async (id): Promise<BackupInfo> => {
      try {
        const m = await readBackupManifest(config, id, s3)
        return {
          id,
          createdAt: m.createdAt,
          complete: true,
          nodes: m.counts.nodes,
          relationships: m.counts.relationships,
          bytes: m.objects.reduce((sum, o) => sum + o.bytes, 0),
          schemaVersion: m.schemaVersion,
        }
      } catch (error) {
        return {
          id,
          createdAt: (timeOfBackupId(id) as Date).toISOString(),
          complete: false,
          problem: error instanceof Error ? error.message : String(error),
        }
      }
    }),
  )
  return infos.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
}

/**
 * Deletes the backups older than `retentionDays` (default config.backup.retentionDays, 30), never
 * the newest complete one. `now` is for tests.
 */
export async function pruneBackups(
  config: Config,
  retentionDays: number = config.backup.retentionDays,
  opts: { now?: Date } = {},
): Promise<PruneReport> {
  const backups = await listBackups(config)
  const doomed = backupsToPrune(
    backups.map((b) => ({ id: b.id, createdAt: new Date(b.createdAt), complete: b.complete })),
    retentionDays,
    opts.now ?? new Date(),
  )
  const s3 = createS3Client(config.s3)
  for (const id of doomed) {
    // The manifest first: a prune interrupted half-way leaves an incomplete backup, never one
    // that lists objects it no longer has.
    await s3.removeObject(config.backup.bucket, manifestKeyOf(id))
    await removeUnder(s3, config.backup.bucket, backupPrefix(id))
  }
  const deleted = new Set(doomed)
  return { deleted: doomed, kept: backups.map((b) => b.id).filter((id) => !deleted.has(id)) }
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)))
}
