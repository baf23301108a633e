// The layout of a graph backup in S3 (ops/backup.ts), without I/O:
//
//   backups/<id>/nodes-00000.jsonl.gz           {"id", "labels", "props"} per line
//   backups/<id>/relationships-00000.jsonl.gz   {"id", "type", "start", "end", "props"} per line
//   backups/<id>/manifest.json                  written last: the backup's commit point
//
// `id` is the backup's start time, `20261127T150638123Z` (UTC, to the millisecond), so ids sort in
// time order and are safe in a shell. Node and relationship ids are the source's elementIds: they
// only connect relationships to their nodes inside one backup. Properties are in the typed JSON form
// of backup-values.ts. Each object is gzip of at most `chunkRecords` lines; the manifest lists each
// with its record count, size and sha256 (of the stored, compressed bytes), the counts per label
// and relationship type, and the graph's schema version (ops/migrations.ts).
import type { EncodedProperties } from './backup-values.js'

export const BACKUP_FORMAT = 1
export const BACKUP_ROOT = 'backups/'
export const MANIFEST_NAME = 'manifest.json'

export type ObjectKind = 'nodes' | 'relationships'

export interface BackupObject {
  readonly key: string
  readonly kind: ObjectKind
  readonly records: number
  readonly bytes: number
  readonly sha256: string
}

export interface BackupManifest {
  readonly format: number
  readonly id: string
  /** When the export began (ISO-8601, UTC); retention ages a backup from here. */
  readonly createdAt: string
  readonly finishedAt: string
  /** The highest migration version applied to the source graph (0: none). */
  readonly schemaVersion: number
  readonly database: string
  readonly encoding: 'jsonl+gzip'
  readonly counts: {
    readonly nodes: number
    readonly relationships: number
    /** Nodes per label (a node with two labels counts under each); nodes without one: `unlabelled`. */
    readonly labels: Readonly<Record<string, number>>
    readonly unlabelled: number
    readonly types: Readonly<Record<string, number>>
  }
  readonly objects: readonly BackupObject[]
}

export interface NodeLine {
  readonly id: string
  readonly labels: readonly string[]
  readonly props: EncodedProperties
}

export interface RelationshipLine {
  readonly id: string
  readonly type: string
  readonly start: string
  readonly end: string
  readonly props: EncodedProperties
}

/** A backup, a manifest or an object that cannot be used as it is; the message names which. */
export class BackupFormatError extends Error {
  readonly code = 'BACKUP_FORMAT'
  constructor(message: string) {
    super(message)
    this.name = 'BackupFormatError'
  }
}

const ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/

export function backupIdFor(time: Date): string {
  return time.toISOString().replace(/[-:]/g, '').replace('.', '')
}

/** The time an id names, or undefined when it is not a backup id. */
export function timeOfBackupId(id: string): Date | undefined {
  const m = ID.exec(id)
  if (!m) return undefined
  const time = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`)
  return Number.isNaN(time.getTime()) ? undefined : time
}

export function assertBackupId(id: string): string {
  if (timeOfBackupId(id) === undefined)
    throw new BackupFormatError(`'${id}' is not a backup id (like 20261127T150638123Z; see \`backup list\`)`)
  return id
}

export const backupPrefix = (id: string): string => `${BACKUP_ROOT}${id}/`
export const manifestKeyOf = (id: string): string => `${backupPrefix(id)}${MANIFEST_NAME}`
export const objectKeyOf = (id: string, kind: ObjectKind, index: number): string =>
  `${backupPrefix(id)}${kind}-${String(index).padStart(5, '0')}.jsonl.gz`

export function parseBackupManifest(body: Buffer, key: string): BackupManifest {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new BackupFormatError(`the backup manifest ${key} is not JSON`)
  }
  const bad = (why: string) => new BackupFormatError(`the backup manifest ${key} is invalid: ${why}`)
  const m = parsed as BackupManifest
  if (typeof m !== 'object' || m === null) throw bad('not an object')
  if (m.format !== BACKUP_FORMAT) throw bad(`format ${String(m.format)}, expected ${BACKUP_FORMAT}`)
  if (typeof m.id !== 'string' || timeOfBackupId(m.id) === undefined) throw bad('no backup id')
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt))) throw bad('no createdAt time')
  if (!Number.isSafeInteger(m.schemaVersion)) throw bad('no schemaVersion')
  if (typeof m.counts !== 'object' || m.counts === null) throw bad('no counts')
  if (!Array.isArray(m.objects)) throw bad('objects is not a list')
  for (const o of m.objects) {
    if (typeof o.key !== 'string' || !/^[0-9a-f]{64}$/.test(String(o.sha256)))
      throw bad(`object ${String(o.key)} has no key or sha256`)
    if (o.kind !== 'nodes' && o.kind !== 'relationships')
      throw bad(`object ${o.key} has kind ${String(o.kind)}`)
    if (!Number.isSafeInteger(o.records) || !Number.isSafeInteger(o.bytes))
      throw bad(`object ${o.key} has no record count or size`)
  }
  return m
}

export function parseNodeLine(line: string, where: string): NodeLine {
  const n = parseLine(line, where) as Partial<NodeLine>
  if (typeof n.id !== 'string' || !Array.isArray(n.labels) || typeof n.props !== 'object' || n.props === null)
    throw new BackupFormatError(`${where}: not a node line`)
  return n as NodeLine
}

export function parseRelationshipLine(line: string, where: string): RelationshipLine {
  const r = parseLine(line, where) as Partial<RelationshipLine>
  if (
    typeof r.id !== 'string' ||
    typeof r.type !== 'string' ||
    typeof r.start !== 'string' ||
    typeof r.end !== 'string' ||
    typeof r.props !== 'object' ||
    r.props === null
  )
    throw new BackupFormatError(`${where}: not a relationship line`)
  return r as RelationshipLine
}

function parseLine(line: string, where: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    throw new BackupFormatError(`${where}: a line is not JSON`)
  }
}

/** A label or relationship type as a Cypher identifier (backticks, doubled inside). */
export function cypherName(name: string): string {
  if (name === '') throw new BackupFormatError('an empty label or relationship type')
  return `\`${name.replaceAll('`', '``')}\``
}

export interface BackupAge {
  readonly id: string
  /** From the manifest; for a backup without one (unfinished or failed), the time of its id. */
  readonly createdAt: Date
  readonly complete: boolean
}

/**
 * The backups retention deletes: those created more than `retentionDays` before `now`, except the
 * newest complete backup, which is always kept (a cluster whose backups stopped keeps its last one).
 */
export function backupsToPrune(backups: readonly BackupAge[], retentionDays: number, now: Date): string[] {
  if (!Number.isInteger(retentionDays) || retentionDays < 1)
    throw new RangeError(`retentionDays must be a whole number >= 1, got ${retentionDays}`)
  const cutoff = now.getTime() - retentionDays * 86_400_000
  const newest = [...backups]
    .filter((b) => b.complete)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0]
  return backups
    .filter((b) => b.id !== newest?.id && b.createdAt.getTime() < cutoff)
    .map((b) => b.id)
    .sort()
}

/** Counts per name of a manifest against what a database holds: the names where they differ. */
export interface CountDifference {
  readonly kind: 'label' | 'type' | 'nodes' | 'relationships'
  readonly name: string
  readonly expected: number
  readonly actual: number
}

export function countDifferences(
  kind: 'label' | 'type',
  expected: Readonly<Record<string, number>>,
  actual: Readonly<Record<string, number>>,
): CountDifference[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()
  return names
    .map((name) => ({ kind, name, expected: expected[name] ?? 0, actual: actual[name] ?? 0 }))
    .filter((d) => d.expected !== d.actual)
}
