// Graph backups against the real stack: export the main Neo4j to S3, restore into the second Neo4j
// of the stack (neo4j-restore: `STACK_NEO4J_RESTORE=1 agent-party stack up`), verify counts and
// typed properties, refuse a non-empty target and a corrupt object (naming it, nothing written), and
// prune by age while keeping the newest backup. Serial: a backup exports the whole shared graph, and
// the restore target is cleared. The main graph is only added to (this file's nodes, removed after).
import neo4j, { type Driver } from 'neo4j-driver'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../cli/exit-codes.js'
import { run } from '../../cli/main.js'
import { MIGRATIONS } from '../../deploy/neo4j/migrations.js'
import {
  type BackupManifest,
  backupGraph,
  listBackups,
  openBackupDriver,
  pruneBackups,
  RestoreRefusedError,
  restoreGraph,
  verifyRestore,
} from '../../ops/backup.js'
import { timeOfBackupId } from '../../ops/backup-format.js'
import { encodeProperties } from '../../ops/backup-values.js'
import { removeUnder } from '../../sinks/s3/archive.js'
import { createS3Client } from '../../sinks/s3/client.js'
import { captureOutput, runCli } from '../support/cli.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig({ BACKUP_BUCKET: prefix.toLowerCase().slice(0, 63).replace(/-+$/, '') })
const restoreUri = stackEnv().NEO4J_RESTORE_URI
const target = { ...config.neo4j, uri: restoreUri ?? 'bolt://127.0.0.1:1' }
const s3 = createS3Client(config.s3)
const bucket = config.backup.bucket
const LABEL = 'Backup Test`Node'
const database = config.neo4j.database

let source: Driver
let restored: Driver

/** Properties of every type a Neo4j property can have, the edge cases of each included. */
const typed = () => ({
  run: prefix,
  key: 'typed',
  big: neo4j.int('9007199254740993'),
  negative: neo4j.int('-42'),
  wholeFloat: 1.0,
  float: 0.1,
  negZero: -0,
  nan: Number.NaN,
  inf: Number.POSITIVE_INFINITY,
  text: 'ünïcødé\nline "quoted" {"i":"1"}',
  flag: false,
  bytes: Int8Array.from([0, 1, -1, 127, -128]),
  ints: [neo4j.int(1), neo4j.int('9007199254740993')],
  floats: [1.0, 2.5],
  strings: ['a', ''],
  date: new neo4j.types.Date(2024, 2, 29),
  localTime: new neo4j.types.LocalTime(23, 59, 58, 123456789),
  time: new neo4j.types.Time(1, 2, 3, 4, -3600),
  localDateTime: new neo4j.types.LocalDateTime(1999, 12, 31, 23, 59, 59, 999999999),
  offsetDateTime: new neo4j.types.DateTime(2026, 11, 27, 15, 6, 38, 123000000, 19800),
  zonedDateTime: new neo4j.types.DateTime(2026, 10, 25, 2, 30, 0, 0, 3600, 'Europe/Paris'),
  duration: new neo4j.types.Duration(neo4j.int(14), neo4j.int(3), neo4j.int(86_401), neo4j.int(5)),
  point2d: new neo4j.types.Point(7203, 1.5, -2),
  point3d: new neo4j.types.Point(4979, 2.35, 48.85, 35),
})

// In transactions of 500 nodes: the restore target runs with a 256 MiB heap.
async function clearGraph(driver: Driver, keep = ''): Promise<void> {
  const session = driver.session({ database })
  try {
    await session.run(
      `MATCH (n) ${keep === '' ? '' : `WHERE NOT n:${keep}`} CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 500 ROWS`,
    )
  } finally {
    await session.close()
  }
}

const clearRestoreTarget = () => clearGraph(restored)

async function nodeCount(driver: Driver): Promise<number> {
  const { records } = await driver.executeQuery('MATCH (n) RETURN count(n) AS n', {}, { database })
  return Number(records[0]?.get('n'))
}

beforeAll(async () => {
  if (!restoreUri)
    throw new Error(
      'NEO4J_RESTORE_URI is missing from the stack env: start the restore target with `STACK_NEO4J_RESTORE=1 npm run -s stack -- up`',
    )
  source = openBackupDriver(config.neo4j)
  restored = openBackupDriver(target)
  await clearRestoreTarget()
  // A backup holds the whole graph: the source is emptied first (a serial test: no other file writes
  // it meanwhile), so that what is restored and compared is this file's graph, whatever ran before.
  await clearGraph(source, 'SchemaMigration')
  // 120 plain nodes in a chain, one typed node linked to the first, one sink offset node.
  await source.executeQuery(
    `UNWIND range(0, 119) AS i CREATE (:\`${LABEL.replace('`', '``')}\` {run: $run, key: 'n' + i, i: i})`,
    { run: prefix },
    { database },
  )
  await source.executeQuery(
    `MATCH (a:\`${LABEL.replace('`', '``')}\` {run: $run}), (b:\`${LABEL.replace('`', '``')}\` {run: $run})
     WHERE b.i = a.i + 1
     CREATE (a)-[:NEXT {run: $run, weight: a.i, at: datetime('2026-01-01T00:00:00Z')}]->(b)`,
    { run: prefix },
    { database },
  )
  await source.executeQuery(
    `CREATE (t:\`${LABEL.replace('`', '``')}\`:BackupTyped) SET t = $props
     WITH t MATCH (first:\`${LABEL.replace('`', '``')}\` {run: $run, key: 'n0'})
     CREATE (t)-[:TYPED {run: $run, count: $count, tags: ['x', 'y']}]->(first)`,
    { props: typed(), run: prefix, count: neo4j.int(7) },
    { database },
  )
  await source.executeQuery(
    'CREATE (:SinkOffset {sink: $run, topic: $topic, partition: $partition, offset: $offset, applied: $applied})',
    {
      run: prefix,
      topic: `${prefix}.agents`,
      partition: neo4j.int(3),
      offset: neo4j.int(41),
      applied: neo4j.int(42),
    },
    { database },
  )
}, 60_000)

afterAll(async () => {
  await source
    ?.executeQuery(
      'MATCH (n) WHERE n.run = $run OR n.sink = $run DETACH DELETE n',
      { run: prefix },
      { database },
    )
    .catch(() => {})
  if (restored) await clearRestoreTarget().catch(() => {})
  await Promise.all([source?.close(), restored?.close()])
  if (await s3.bucketExists(bucket)) {
    await removeUnder(s3, bucket, '')
    await s3.removeBucket(bucket)
  }
})

describe('graph backup to S3 and restore into the second Neo4j', () => {
  let manifest: BackupManifest

  it('exports every node, relationship and offset node in checksummed chunks with a manifest', async () => {
    const phases = new Set<string>()
    manifest = await backupGraph(config, { chunkRecords: 50, onProgress: (p) => phases.add(p.phase) })
    expect(timeOfBackupId(manifest.id)).toBeInstanceOf(Date)
    expect(manifest.schemaVersion).toBe(Math.max(...MIGRATIONS.map((m) => m.version)))
    expect(manifest.counts.labels[LABEL]).toBe(121)
    expect(manifest.counts.labels.BackupTyped).toBe(1)
    expect(manifest.counts.labels.SinkOffset).toBeGreaterThanOrEqual(1)
    expect(manifest.counts.types.NEXT).toBe(119)
    expect(manifest.counts.types.TYPED).toBe(1)
    expect(manifest.counts.nodes).toBe(await nodeCount(source))
    // Bounded chunks: no object above 50 lines, and the lines add up to the counts.
    expect(manifest.objects.every((o) => o.records <= 50 && /^[0-9a-f]{64}$/.test(o.sha256))).toBe(true)
    const sum = (kind: string) =>
      manifest.objects.filter((o) => o.kind === kind).reduce((n, o) => n + o.records, 0)
    expect(sum('nodes')).toBe(manifest.counts.nodes)
    expect(sum('relationships')).toBe(manifest.counts.relationships)
    expect(phases).toContain('export')
    const listed = await listBackups(config)
    expect(listed.map((b) => [b.id, b.complete])).toEqual([[manifest.id, true]])
  })

  it('restores into the empty second instance with the same counts and typed values', async () => {
    const report = await restoreGraph(config, manifest.id, { target, batchSize: 40 })
    expect(report.nodes).toBe(manifest.counts.nodes)
    expect(report.relationships).toBe(manifest.counts.relationships)
    const verify = await verifyRestore(config, manifest.id, { target, sample: 10_000 })
    expect(verify).toMatchObject({ ok: true, counts: [], sampleMismatches: [] })
    expect(verify.sampled).toBe(manifest.counts.nodes)

    const read = async (driver: Driver) => {
      const { records } = await driver.executeQuery(
        `MATCH (t:BackupTyped {run: $run})-[r:TYPED]->(first) RETURN properties(t) AS t, properties(r) AS r, first.key AS first, labels(t) AS labels`,
        { run: prefix },
        { database },
      )
      expect(records).toHaveLength(1)
      const rec = records[0]
      if (!rec) throw new Error('the typed node is missing')
      return {
        node: encodeProperties(rec.get('t')),
        rel: encodeProperties(rec.get('r')),
        first: rec.get('first'),
        labels: [...(rec.get('labels') as string[])].sort(),
      }
    }
    const before = await read(source)
    const after = await read(restored)
    expect(after).toEqual(before)
    // The encoding compares types too; spot-check that the values are what was written.
    expect(after.node.big).toEqual({ i: '9007199254740993' })
    expect(after.node.wholeFloat).toBe(1)
    expect(after.node.negZero).toEqual({ f: '-0' })
    expect(after.node.zonedDateTime).toEqual({ datetime: [2026, 10, 25, 2, 30, 0, 0, 3600, 'Europe/Paris'] })
    expect(after.rel.count).toEqual({ i: '7' })

    const { records: offsets } = await restored.executeQuery(
      'MATCH (o:SinkOffset {sink: $run}) RETURN o.offset AS offset, o.partition AS partition',
      { run: prefix },
      { database },
    )
    expect(offsets.map((r) => [r.get('partition').toString(), r.get('offset').toString()])).toEqual([
      ['3', '41'],
    ])
    // The chain survived: 119 NEXT relationships between this run's nodes.
    const { records: chain } = await restored.executeQuery(
      'MATCH (:BackupTyped {run: $run})-[:TYPED]->(a)-[:NEXT*119]->(z) RETURN z.key AS last',
      { run: prefix },
      { database },
    )
    expect(chain.map((r) => r.get('last'))).toEqual(['n119'])
    // The restore's temporary label and id are gone.
    const { records: leftovers } = await restored.executeQuery(
      'MATCH (n) WHERE n:__BackupRestore OR n.__backup_id IS NOT NULL RETURN count(n) AS n',
      {},
      { database },
    )
    expect(Number(leftovers[0]?.get('n'))).toBe(0)
  })

  it('refuses to restore into a database that holds nodes, and changes nothing', async () => {
    const before = await nodeCount(restored)
    const failure = restoreGraph(config, manifest.id, { target })
    await expect(failure).rejects.toBeInstanceOf(RestoreRefusedError)
    await expect(failure).rejects.toThrow(/target database 'neo4j' at bolt:\/\/127\.0\.0\.1:\d+ is not empty/)
    expect(await nodeCount(restored)).toBe(before)
  })

  it('verify reports counts that differ from the backup', async () => {
    await restored.executeQuery(
      'MATCH (n:BackupTyped {run: $run}) DETACH DELETE n',
      { run: prefix },
      { database },
    )
    const verify = await verifyRestore(config, manifest.id, { target, sample: 10_000 })
    expect(verify.ok).toBe(false)
    expect(verify.counts).toContainEqual({ kind: 'label', name: 'BackupTyped', expected: 1, actual: 0 })
    expect(verify.counts).toContainEqual({ kind: 'type', name: 'TYPED', expected: 1, actual: 0 })
    expect(verify.sampleMismatches).toHaveLength(1)
  })

  it('refuses a backup with a corrupt object, naming it, before writing anything', async () => {
    await clearRestoreTarget()
    const victim = manifest.objects[manifest.objects.length - 1]
    if (!victim) throw new Error('no object')
    const body = Buffer.from('not the bytes that were backed up')
    await s3.putObject(bucket, victim.key, body, body.length)
    const failure = restoreGraph(config, manifest.id, { target })
    await expect(failure).rejects.toBeInstanceOf(RestoreRefusedError)
    await expect(failure).rejects.toThrow(`backup object ${victim.key} does not match`)
    expect(await nodeCount(restored)).toBe(0)
    await expect(restoreGraph(config, '20200101T000000000Z', { target })).rejects.toThrow(
      /backup 20200101T000000000Z has no manifest/,
    )
  })

  it('prunes backups older than the retention and always keeps the newest', async () => {
    const day = 86_400_000
    const now = Date.now()
    const fake = async (ageDays: number, withManifest = true) => {
      const created = new Date(now - ageDays * day)
      const id = created.toISOString().replace(/[-:]/g, '').replace('.', '')
      const chunk = Buffer.from('x')
      await s3.putObject(bucket, `backups/${id}/nodes-00000.jsonl.gz`, chunk, chunk.length)
      if (withManifest) {
        const body = Buffer.from(JSON.stringify({ ...manifest, id, createdAt: created.toISOString() }))
        await s3.putObject(bucket, `backups/${id}/manifest.json`, body, body.length)
      }
      return id
    }
    const old40 = await fake(40)
    const old35 = await fake(35)
    const unfinished = await fake(31, false)
    const recent = await fake(10)
    const listed = await listBackups(config)
    expect(listed.map((b) => b.id)).toEqual([manifest.id, recent, unfinished, old35, old40])
    expect(listed.find((b) => b.id === unfinished)?.complete).toBe(false)

    const first = await pruneBackups(config, 30)
    expect(first.deleted).toEqual([old40, old35, unfinished].sort())
    expect(first.kept).toEqual([manifest.id, recent])
    // Everything is past its retention 100 days from now: the newest backup still stays.
    const second = await pruneBackups(config, 30, { now: new Date(now + 100 * day) })
    expect(second).toEqual({ deleted: [recent], kept: [manifest.id] })
    expect((await listBackups(config)).map((b) => b.id)).toEqual([manifest.id])
    const left: string[] = []
    for await (const o of s3.listObjectsV2(bucket, 'backups/', true)) if (o.name) left.push(o.name)
    expect(left.every((key) => key.startsWith(`backups/${manifest.id}/`))).toBe(true)
  })
})

describe('agent-party backup', () => {
  const env = () => ({ ...stackEnv(), BACKUP_BUCKET: bucket })
  const restoreTarget = () => ['--target-uri', restoreUri ?? '']

  it('creates, restores, verifies and lists from the command line, with documented exit codes', async () => {
    await clearRestoreTarget()
    const created = await runCli(['backup', 'create', '--json'], env())
    expect(created.code, created.stderr).toBe(EXIT.OK)
    const { id, counts } = JSON.parse(created.stdout) as BackupManifest
    expect(counts.labels[LABEL]).toBe(121)

    const restoredRun = await runCli(['backup', 'restore', id, ...restoreTarget()], env())
    expect(restoredRun.code, restoredRun.stderr).toBe(EXIT.OK)
    expect(restoredRun.stdout).toContain(
      `restored ${id}: ${counts.nodes} nodes, ${counts.relationships} relationships`,
    )
    const verified = await runCli(['backup', 'verify', id, ...restoreTarget(), '--sample', '50'], env())
    expect(verified.code, verified.stderr).toBe(EXIT.OK)
    expect(verified.stdout).toMatch(/^equal: counts equal, 50\/50 sampled nodes equal$/m)

    const listed = await runCli(['backup', 'list', '--json'], env())
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((b) => b.id)).toContain(id)

    // Refused: the target now holds the restored graph. A message, no stack trace, nothing changed.
    const before = await nodeCount(restored)
    const refused = await runCli(['backup', 'restore', id, ...restoreTarget()], env())
    expect(refused.code).toBe(EXIT.REFUSED)
    expect(refused.stderr).toMatch(/is not empty: it holds \d+ nodes/)
    expect(refused.stderr).not.toMatch(/\n\s+at /)
    expect(await nodeCount(restored)).toBe(before)
  })

  it('answers bad arguments with a message and exit 2', async () => {
    // In this process: a usage error stops before any service is reached.
    let err = ''
    captureOutput(
      () => {},
      (text) => {
        err += text
      },
    )
    try {
      expect(await run(['backup', 'restore', 'latest'])).toBe(EXIT.USAGE)
      expect(err).toContain('expected a backup id such as 20261127T150638123Z')
      expect(await run(['backup', 'prune', '--retention-days', '0'])).toBe(EXIT.USAGE)
      expect(err).toContain('expected a whole number >= 1')
      expect(await run(['backup', 'verify', '20261127T150638123Z', '--target-uri', 'http://x'])).toBe(
        EXIT.USAGE,
      )
      expect(err).toContain('expected a Bolt URI')
    } finally {
      vi.restoreAllMocks()
    }
  })
})
