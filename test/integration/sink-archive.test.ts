// The S3 archive target against the real s3proxy of the local stack, driven the way the sink runner
// drives it (restart, apply, tick): deterministic objects, ranges cut by count and by idleness, the
// manifest as the commit point, a pending cut rebuilt identical after a crash, the offset guard, a
// zombie writer refused, the reader, retention and reset. Every key lives under this file's prefix.
import type { Client } from 'minio'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SinkMetrics } from '../../config/metrics.js'
import { type FetchedRecord, partitionKey } from '../../kafka/partition-fetcher.js'
import type { DecodedRecord, PartitionBatch } from '../../sinks/runtime/target.js'
import { type ArchiveSinkOptions, ArchiveSinkTarget, removeUnder } from '../../sinks/s3/archive.js'
import { encodeRange, objectKey, sha256Hex } from '../../sinks/s3/archive-format.js'
import { ArchiveReader } from '../../sinks/s3/archive-reader.js'
import { createS3Client } from '../../sinks/s3/client.js'
import { ManifestConflictError, ManifestStore, readAll } from '../../sinks/s3/manifest.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const config = stackConfig()
const base = `${testPrefix(import.meta.url)}/`
const bucket = config.s3.bucket
const s3 = createS3Client(config.s3)
const DAY = 24 * 3_600_000

afterAll(async () => {
  await removeUnder(s3, bucket, base)
})

beforeAll(async () => {
  await target('setup/').open()
})

const uploads: { topic: string; records: number; bytes: number }[] = []
/** Only the archive's instrument: the runner's are not called by a target. */
const metrics = {
  archiveUploaded: (topic: string, records: number, bytes: number) => {
    uploads.push({ topic, records, bytes })
  },
} as Partial<SinkMetrics> as SinkMetrics

function target(prefix: string, options: Partial<ArchiveSinkOptions> = {}): ArchiveSinkTarget {
  return new ArchiveSinkTarget({
    client: s3,
    bucket,
    prefix: `${base}${prefix}`,
    topics: ['agent_events', 'team_events'],
    rangeRecords: 5,
    idleMs: 1_000,
    retentionCheckMs: 0,
    metrics,
    ...options,
  })
}

function record(topic: string, partition: number, offset: number, timestamp = 1_790_000_000_000 + offset) {
  const fetched: FetchedRecord = {
    topic,
    partition,
    offset,
    timestamp,
    key: Buffer.from(`agent-${offset % 3}`),
    value: Buffer.from([0, 0, 0, 0, 7, offset % 256, 1, 2, 3]),
    headers: new Map([
      ['trace-id', Buffer.from(`trace-${offset}`)],
      ['schema', Buffer.from('v2')],
    ]),
  }
  return fetched
}

function decoded(r: FetchedRecord): DecodedRecord<FetchedRecord> {
  return { offset: r.offset, timestamp: r.timestamp, key: r.key, value: r }
}

function batch(
  records: readonly FetchedRecord[],
  lastOffset?: number,
  where?: { topic: string; partition: number },
): PartitionBatch<FetchedRecord> {
  const first = records[0] ?? where
  if (!first || (records.length === 0 && lastOffset === undefined))
    throw new Error('an empty batch needs its place')
  return {
    topic: first.topic,
    partition: first.partition,
    records: records.map(decoded),
    lastOffset: lastOffset ?? (records.at(-1)?.offset as number),
  }
}

/** Offsets with gaps (transaction markers, aborted records): `count` offsets from `from`, every 4th missing. */
function offsetsWithGaps(from: number, count: number): number[] {
  const out: number[] = []
  for (let o = from; out.length < count; o++) if ((o - from) % 4 !== 3) out.push(o)
  return out
}

async function manifestOf(prefix: string, topic: string, partition: number) {
  return (await new ManifestStore(s3, bucket, `${base}${prefix}`).read(topic, partition)).manifest
}

async function objectBytes(key: string): Promise<Buffer> {
  return readAll(await s3.getObject(bucket, key))
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const o of s3.listObjectsV2(bucket, prefix, true)) if (o.name) keys.push(o.name)
  return keys.sort()
}

/** The real client, with uploads of range objects failing while `failing.on` (a crash before the upload). */
function failingUploads(failing: { on: boolean }): Client {
  return new Proxy(s3, {
    get(client, property, receiver) {
      if (property === 'putObject') {
        return (...args: Parameters<Client['putObject']>) => {
          if (failing.on && String(args[1]).endsWith('.avro')) {
            return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
          }
          return client.putObject(...args)
        }
      }
      const value = Reflect.get(client, property, receiver)
      return typeof value === 'function' ? value.bind(client) : value
    },
  })
}

const tp = (topic: string, partition: number) => ({ topic, partition })

describe('archive sink target', () => {
  it('cuts ranges at rangeRecords by offsets with gaps, and the manifest lists each closed range', async () => {
    const sink = target('count/')
    expect(await sink.restart([tp('agent_events', 0)])).toEqual(new Map())
    const records = offsetsWithGaps(0, 12).map((o) => record('agent_events', 0, o))
    // offsets 0 1 2 4 5 6 8 9 10 12 13 14: ranges of 5 records are [0, 5] and [6, 12].
    await sink.apply([batch(records.slice(0, 7))])
    let manifest = await manifestOf('count/', 'agent_events', 0)
    expect(manifest.ranges.map((r) => [r.first, r.last, r.records])).toEqual([[0, 5, 5]])
    await sink.apply([batch(records.slice(7))])
    manifest = await manifestOf('count/', 'agent_events', 0)
    expect(manifest.pending).toBeNull()
    expect(manifest.last).toBe(12)
    expect(manifest.ranges.map((r) => [r.first, r.last, r.records])).toEqual([
      [0, 5, 5],
      [6, 12, 5],
    ])
    const keys = await keysUnder(`${base}count/agent_events/0/`)
    expect(keys).toEqual([
      objectKey(`${base}count/`, { topic: 'agent_events', partition: 0, first: 0, last: 5 }),
      objectKey(`${base}count/`, { topic: 'agent_events', partition: 0, first: 6, last: 12 }),
      `${base}count/agent_events/0/manifest.json`,
    ])
    for (const range of manifest.ranges) {
      const bytes = await objectBytes(range.key)
      expect(sha256Hex(bytes)).toBe(range.sha256)
      expect(bytes.length).toBe(range.bytes)
    }
    // The stored offset is the end of the last closed range, not the last record seen (13, 14 are open).
    expect(await target('count/').restart([tp('agent_events', 0)])).toEqual(
      new Map([[partitionKey('agent_events', 0), 12]]),
    )
    expect(uploads.filter((u) => u.records === 5).length).toBeGreaterThanOrEqual(2)
  })

  it('gives the same object bytes for the same records, built by two separate sinks', async () => {
    const records = offsetsWithGaps(1000, 5).map((o) => record('team_events', 2, o))
    const keys: string[] = []
    for (const prefix of ['same-a/', 'same-b/']) {
      const sink = target(prefix)
      await sink.restart([tp('team_events', 2)])
      await sink.apply([batch(records)])
      const manifest = await manifestOf(prefix, 'team_events', 2)
      expect(manifest.ranges).toHaveLength(1)
      keys.push(manifest.ranges[0]?.key as string)
    }
    const [a, b] = await Promise.all(keys.map(objectBytes))
    expect(a?.equals(b as Buffer)).toBe(true)
    const direct = encodeRange(
      { topic: 'team_events', partition: 2, first: 1000, last: records.at(-1)?.offset as number },
      records.map((r) => ({ ...r, headers: [...r.headers].map(([key, value]) => ({ key, value })) })),
      'deflate',
    )
    expect(a?.equals(direct)).toBe(true)
  })

  it('cuts an idle partition at the covered end (skipped offsets included) on tick, not before idleMs', async () => {
    const sink = target('idle/', { idleMs: 60_000, rangeRecords: 1000 })
    await sink.restart([tp('agent_events', 1)])
    await sink.apply([
      batch(
        [10, 11, 13].map((o) => record('agent_events', 1, o)),
        15,
      ),
    ])
    await sink.tick(Date.now() + 30_000)
    expect((await manifestOf('idle/', 'agent_events', 1)).ranges).toEqual([])
    await sink.tick(Date.now() + 61_000)
    const manifest = await manifestOf('idle/', 'agent_events', 1)
    expect(manifest.ranges.map((r) => [r.first, r.last, r.records])).toEqual([[10, 15, 3]])
    // An idle partition with nothing open is left alone.
    await sink.apply([batch([], 18, tp('agent_events', 1))])
    await sink.tick(Date.now() + 120_000)
    expect((await manifestOf('idle/', 'agent_events', 1)).ranges).toHaveLength(1)
    await sink.apply([batch([record('agent_events', 1, 19)])])
    await sink.tick(Date.now() + 120_000)
    expect(
      (await manifestOf('idle/', 'agent_events', 1)).ranges.map((r) => [r.first, r.last, r.records]),
    ).toEqual([
      [10, 15, 3],
      [16, 19, 1],
    ])
  })

  it('writes the cut before the upload: after a crash restart returns pending.first - 1 and the rebuild is identical', async () => {
    const failing = { on: true }
    const crashed = target('pending/', { client: failingUploads(failing), rangeRecords: 1000 })
    const topic = 'agent_events'
    await crashed.restart([tp(topic, 3)])
    const records = offsetsWithGaps(100, 40).map((o) => record(topic, 3, o))
    // 100..110 and the batch covers 111, a gap (a transaction marker): the cut is [100, 111].
    const cut = 111
    await crashed.apply([batch(records.slice(0, 9), cut)])
    await expect(crashed.tick(Date.now() + 5_000)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect(crashed.classify(new Error('x'))).toBe('transient')
    const pending = await manifestOf('pending/', topic, 3)
    expect(pending.pending).toEqual({ first: 100, last: cut })
    expect(pending.ranges).toEqual([])

    // A new instance: the runner seeks to stored + 1 = 100 and re-delivers more than the pending range.
    failing.on = false
    const sink = target('pending/', { rangeRecords: 1000 })
    expect(await sink.restart([tp(topic, 3)])).toEqual(new Map([[partitionKey(topic, 3), 99]]))
    await sink.apply([batch(records.slice(0, 20))])
    const manifest = await manifestOf('pending/', topic, 3)
    expect(manifest.pending).toBeNull()
    expect(manifest.ranges.map((r) => [r.first, r.last, r.records])).toEqual([[100, cut, 9]])
    const expected = encodeRange(
      { topic, partition: 3, first: 100, last: cut },
      records
        .slice(0, 9)
        .map((r) => ({ ...r, headers: [...r.headers].map(([key, value]) => ({ key, value })) })),
      'deflate',
    )
    expect((await objectBytes(manifest.ranges[0]?.key as string)).equals(expected)).toBe(true)
    // Records after the pending cut went into the next open range, which closes from cut + 1.
    await sink.tick(Date.now() + 5_000)
    const after = await manifestOf('pending/', topic, 3)
    expect(after.ranges.map((r) => [r.first, r.last, r.records])).toEqual([
      [100, cut, 9],
      [cut + 1, records[19]?.offset, 11],
    ])
    expect(await target('pending/').restart([tp(topic, 3)])).toEqual(
      new Map([[partitionKey(topic, 3), records[19]?.offset]]),
    )
  })

  it('closes a pending range that comes back without records (deleted from Kafka meanwhile) with no object', async () => {
    const failing = { on: true }
    const topic = 'team_events'
    const crashed = target('empty-pending/', { client: failingUploads(failing), rangeRecords: 3 })
    await crashed.restart([tp(topic, 4)])
    const records = offsetsWithGaps(0, 9).map((o) => record(topic, 4, o))
    await crashed.apply([batch(records.slice(0, 3))]).catch(() => undefined)
    failing.on = false
    const sink = target('empty-pending/', { rangeRecords: 3 })
    expect(await sink.restart([tp(topic, 4)])).toEqual(new Map([[partitionKey(topic, 4), -1]]))
    // The runner finds the log starting after the pending range: it covers it without records.
    await sink.apply([batch(records.slice(3, 6), undefined)])
    const manifest = await manifestOf('empty-pending/', topic, 4)
    expect(manifest.ranges.map((r) => [r.first, r.last, r.records])).toEqual([[3, records[5]?.offset, 3]])
    expect(await keysUnder(`${base}empty-pending/${topic}/4/`)).toHaveLength(2)
    expect(await target('empty-pending/').restart([tp(topic, 4)])).toEqual(
      new Map([[partitionKey(topic, 4), records[5]?.offset]]),
    )
  })

  it('skips records at or below what it holds: a batch applied twice, or replayed after restart, changes nothing', async () => {
    const sink = target('guard/', { rangeRecords: 4 })
    const topic = 'team_events'
    await sink.restart([tp(topic, 0)])
    const records = offsetsWithGaps(0, 10).map((o) => record(topic, 0, o))
    await sink.apply([batch(records.slice(0, 3))])
    await sink.apply([batch(records.slice(0, 3))])
    await sink.apply([batch(records.slice(0, 6))])
    // A failed apply makes the runner restart and re-deliver from the stored offset.
    const stored = await sink.restart([tp(topic, 0)])
    expect(stored.get(partitionKey(topic, 0))).toBe(records[3]?.offset)
    await sink.apply([batch(records)])
    await sink.apply([batch(records)])
    await sink.tick(Date.now() + 5_000)
    const manifest = await manifestOf('guard/', topic, 0)
    expect(manifest.ranges.map((r) => r.records)).toEqual([4, 4, 2])
    const reader = new ArchiveReader({ client: s3, bucket, prefix: `${base}guard/` })
    const read = []
    for await (const r of reader.records(topic)) read.push(r.offset)
    expect(read).toEqual(records.map((r) => r.offset))
  })

  it.each([
    ['conditional writes (If-Match)', true],
    ['a check of the ETag before the write', false],
  ])(
    'refuses a zombie writer with %s: its update fails as a transient conflict and changes nothing',
    async (_, conditionalWrites) => {
      const topic = 'agent_events'
      const prefix = `zombie-${conditionalWrites}/`
      const records = offsetsWithGaps(0, 9).map((o) => record(topic, 5, o))
      const first = target(prefix, { rangeRecords: 3, conditionalWrites })
      await first.restart([tp(topic, 5)])
      await first.apply([batch(records.slice(0, 3))])
      // Both instances believe they own the partition and read the same manifest version.
      const owner = target(prefix, { rangeRecords: 3, conditionalWrites })
      const zombie = target(prefix, { rangeRecords: 3, conditionalWrites })
      await zombie.restart([tp(topic, 5)])
      await owner.restart([tp(topic, 5)])
      await owner.apply([batch(records.slice(3, 6))])
      const before = await manifestOf(prefix, topic, 5)
      expect(before.ranges).toHaveLength(2)
      const error = await zombie
        .apply([batch(records.slice(3, 5))])
        .then(() => zombie.tick(Date.now() + 5_000))
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(error).toBeInstanceOf(ManifestConflictError)
      expect(zombie.classify(error)).toBe('transient')
      expect(await manifestOf(prefix, topic, 5)).toEqual(before)
      // After restart the zombie sees the owner's progress.
      expect((await zombie.restart([tp(topic, 5)])).get(partitionKey(topic, 5))).toBe(records[5]?.offset)
    },
  )

  it('reads back every record in offset order per partition, with gaps, bounds, and a checked sha256', async () => {
    const sink = target('reader/', { rangeRecords: 7 })
    const topic = 'agent_events'
    const parts = [0, 1, 2]
    await sink.restart(parts.map((p) => tp(topic, p)))
    const written = new Map(
      parts.map((p) => [p, offsetsWithGaps(p * 50, 30).map((o) => record(topic, p, o))]),
    )
    for (let i = 0; i < 30; i += 9) {
      await sink.apply(parts.map((p) => batch(written.get(p)?.slice(i, i + 9) ?? [])))
    }
    await sink.tick(Date.now() + 5_000)
    const reader = new ArchiveReader({ client: s3, bucket, prefix: `${base}reader/` })
    expect(await reader.partitions(topic)).toEqual(parts)
    const all: FetchedRecord[] = []
    for await (const r of reader.records(topic)) all.push(r)
    expect(all).toEqual(parts.flatMap((p) => written.get(p) ?? []))
    const bounded: number[] = []
    for await (const r of reader.records(topic, { partitions: [1], fromOffset: 60, toOffset: 70 }))
      bounded.push(r.offset)
    expect(bounded).toEqual(offsetsWithGaps(50, 30).filter((o) => o >= 60 && o <= 70))

    const manifest = await reader.manifest(topic, 2)
    const victim = manifest?.ranges[1]?.key as string
    const original = await objectBytes(victim)
    const tampered = Buffer.from(original)
    tampered[tampered.length - 20] = (tampered[tampered.length - 20] ?? 0) ^ 0xff
    await s3.putObject(bucket, victim, tampered)
    const failure = await (async () => {
      for await (const _ of reader.records(topic, { partitions: [2] })) {
        /* reading */
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(String(failure)).toMatch(/does not match its manifest/)
    await s3.putObject(bucket, victim, original)
  })

  it('retention drops old ranges from the manifest, then deletes their objects; the reader and restart still work', async () => {
    const topic = 'team_events'
    const now = Date.now()
    const sink = target('retention/', { rangeRecords: 4, retentionMs: 90 * DAY })
    await sink.restart([tp(topic, 0)])
    const offsets = offsetsWithGaps(0, 12)
    const records = offsets.map((o, i) => record(topic, 0, o, i < 8 ? now - 100 * DAY + i : now - DAY + i))
    await sink.apply([batch(records)])
    // A leftover from a crash between a manifest update and the deletes: an object below the ranges.
    const orphan = objectKey(`${base}retention/`, { topic, partition: 0, first: 0, last: 1 })
    await s3.putObject(bucket, orphan, Buffer.from('left over'))
    const before = await manifestOf('retention/', topic, 0)
    expect(before.ranges).toHaveLength(3)
    await sink.tick(now)
    const after = await manifestOf('retention/', topic, 0)
    expect(after.ranges).toEqual(before.ranges.slice(2))
    expect(after.last).toBe(before.last)
    expect(await keysUnder(`${base}retention/${topic}/0/`)).toEqual(
      [after.ranges[0]?.key as string, `${base}retention/${topic}/0/manifest.json`].sort(),
    )
    const reader = new ArchiveReader({ client: s3, bucket, prefix: `${base}retention/` })
    const read: number[] = []
    for await (const r of reader.records(topic)) read.push(r.offset)
    expect(read).toEqual(offsets.slice(8))
    expect(await target('retention/').restart([tp(topic, 0)])).toEqual(
      new Map([[partitionKey(topic, 0), offsets[11]]]),
    )
  })

  it('reset deletes its topics under its prefix and nothing else', async () => {
    const sink = target('reset/')
    const other = target('reset-other/')
    for (const t of [sink, other]) {
      await t.restart([tp('agent_events', 0), tp('team_events', 1)])
      await t.apply([
        batch(offsetsWithGaps(0, 5).map((o) => record('agent_events', 0, o))),
        batch(offsetsWithGaps(0, 5).map((o) => record('team_events', 1, o))),
      ])
    }
    const foreign = `${base}reset/task_events/0/manifest.json`
    await s3.putObject(bucket, foreign, Buffer.from('{}'))
    const otherKeys = await keysUnder(`${base}reset-other/`)
    expect(otherKeys.length).toBe(4)
    await sink.reset()
    expect(await keysUnder(`${base}reset/`)).toEqual([foreign])
    expect(await keysUnder(`${base}reset-other/`)).toEqual(otherKeys)
    expect(await sink.restart([tp('agent_events', 0)])).toEqual(new Map())
  })

  it('classifies real failures: bad credentials are fatal, a refused connection is transient', async () => {
    const badKey = createS3Client({ ...config.s3, secretKey: 'wrong-secret' })
    const denied = target('denied/', { client: badKey })
    const error = await denied.restart([tp('agent_events', 0)]).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(denied.classify(error)).toBe('fatal')

    const closed = createS3Client({ ...config.s3, endpoint: 'http://127.0.0.1:1' })
    const down = target('down/', { client: closed })
    const refused = await down.restart([tp('agent_events', 0)]).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(down.classify(refused)).toBe('transient')
    expect(await down.ping()).toBe(false)
    expect(await target('up/').ping()).toBe(true)
  })
})
