// The pure parts of graph backups: ids and keys, manifest validation, Cypher names, which backups
// retention deletes (never the newest complete one), and count differences.
import { describe, expect, it } from 'vitest'
import {
  assertBackupId,
  BackupFormatError,
  backupIdFor,
  backupsToPrune,
  countDifferences,
  cypherName,
  manifestKeyOf,
  objectKeyOf,
  parseBackupManifest,
  parseNodeLine,
  parseRelationshipLine,
  timeOfBackupId,
} from '../../../ops/backup-format.js'

const DAY = 86_400_000

describe('backup ids', () => {
  it('name the start time to the millisecond, sort in time order and parse back', () => {
    const t = new Date('2026-11-27T15:06:38.123Z')
    expect(backupIdFor(t)).toBe('20261127T150638123Z')
    expect(timeOfBackupId('20261127T150638123Z')?.toISOString()).toBe(t.toISOString())
    expect(backupIdFor(new Date('2026-01-02T00:00:00Z')) < backupIdFor(t)).toBe(true)
  })

  it('refuses what is not an id, with the form expected', () => {
    expect(timeOfBackupId('latest')).toBeUndefined()
    expect(timeOfBackupId('20261327T150638123Z')).toBeUndefined()
    expect(() => assertBackupId('../etc')).toThrow(/not a backup id \(like 20261127T150638123Z/)
  })

  it('places objects and the manifest under backups/<id>/', () => {
    expect(manifestKeyOf('20261127T150638123Z')).toBe('backups/20261127T150638123Z/manifest.json')
    expect(objectKeyOf('20261127T150638123Z', 'relationships', 12)).toBe(
      'backups/20261127T150638123Z/relationships-00012.jsonl.gz',
    )
  })
})

const manifest = {
  format: 1,
  id: '20261127T150638123Z',
  createdAt: '2026-11-27T15:06:38.123Z',
  finishedAt: '2026-11-27T15:06:40.000Z',
  schemaVersion: 6,
  database: 'neo4j',
  encoding: 'jsonl+gzip',
  counts: { nodes: 1, relationships: 0, labels: { Agent: 1 }, unlabelled: 0, types: {} },
  objects: [
    { key: 'backups/x/nodes-00000.jsonl.gz', kind: 'nodes', records: 1, bytes: 10, sha256: 'a'.repeat(64) },
  ],
}
const parse = (m: unknown) => parseBackupManifest(Buffer.from(JSON.stringify(m)), 'k/manifest.json')

describe('parseBackupManifest', () => {
  it('accepts a valid manifest', () => {
    expect(parse(manifest)).toEqual(manifest)
  })

  it.each([
    ['not JSON', '{', /is not JSON/],
    ['another format', { ...manifest, format: 2 }, /format 2, expected 1/],
    ['no id', { ...manifest, id: 'x' }, /no backup id/],
    ['no schema version', { ...manifest, schemaVersion: '6' }, /no schemaVersion/],
    [
      'an object without sha256',
      { ...manifest, objects: [{ ...manifest.objects[0], sha256: 'abc' }] },
      /object backups\/x\/nodes-00000.jsonl.gz has no key or sha256/,
    ],
    [
      'an object of no kind',
      { ...manifest, objects: [{ ...manifest.objects[0], kind: 'edges' }] },
      /kind edges/,
    ],
  ])('refuses %s, naming the manifest', (_name, m, message) => {
    const body = typeof m === 'string' ? Buffer.from(m) : Buffer.from(JSON.stringify(m))
    expect(() => parseBackupManifest(body, 'k/manifest.json')).toThrow(BackupFormatError)
    expect(() => parseBackupManifest(body, 'k/manifest.json')).toThrow(message)
    expect(() => parseBackupManifest(body, 'k/manifest.json')).toThrow(/k\/manifest.json/)
  })
})

describe('lines', () => {
  it('parse node and relationship lines and refuse others, naming the object', () => {
    expect(parseNodeLine('{"id":"4:a:1","labels":["A"],"props":{}}', 'o')).toEqual({
      id: '4:a:1',
      labels: ['A'],
      props: {},
    })
    expect(() => parseNodeLine('{"id":"1"}', 'obj-1')).toThrow(/obj-1: not a node line/)
    expect(() => parseRelationshipLine('{"id":"1","type":"T","start":"a","props":{}}', 'o')).toThrow(
      /not a relationship line/,
    )
    expect(() => parseNodeLine('nope', 'obj-2')).toThrow(/obj-2: a line is not JSON/)
  })
})

describe('cypherName', () => {
  it('quotes with backticks, doubling backticks inside', () => {
    expect(cypherName('Agent')).toBe('`Agent`')
    expect(cypherName('a`b c')).toBe('`a``b c`')
    expect(() => cypherName('')).toThrow(BackupFormatError)
  })
})

describe('backupsToPrune', () => {
  const now = new Date('2026-11-27T00:00:00Z')
  const at = (id: string, ageDays: number, complete = true) => ({
    id,
    createdAt: new Date(now.getTime() - ageDays * DAY),
    complete,
  })

  it('deletes the backups older than the retention, incomplete ones included', () => {
    expect(
      backupsToPrune([at('a', 45), at('b', 31), at('c', 29), at('d', 1), at('e', 40, false)], 30, now),
    ).toEqual(['a', 'b', 'e'])
  })

  it('never deletes the newest complete backup, even past the retention', () => {
    expect(backupsToPrune([at('a', 90), at('b', 60), at('c', 65, false)], 30, now)).toEqual(['a', 'c'])
    expect(backupsToPrune([at('only', 365)], 30, now)).toEqual([])
  })

  it('keeps a backup exactly at the retention boundary', () => {
    expect(backupsToPrune([at('edge', 30), at('new', 0)], 30, now)).toEqual([])
  })

  it('refuses a retention below one day', () => {
    expect(() => backupsToPrune([], 0, now)).toThrow(/retentionDays must be a whole number >= 1/)
  })
})

describe('countDifferences', () => {
  it('lists the names whose counts differ, a name missing on one side as 0', () => {
    expect(countDifferences('label', { A: 2, B: 1, C: 3 }, { A: 2, B: 0, D: 1 })).toEqual([
      { kind: 'label', name: 'B', expected: 1, actual: 0 },
      { kind: 'label', name: 'C', expected: 3, actual: 0 },
      { kind: 'label', name: 'D', expected: 0, actual: 1 },
    ])
  })
})
