// The manifest of one archived partition (`<prefix><topic>/<partition>/manifest.json`): the list of
// closed ranges and at most one pending cut. Writing it is the archive's commit point: a range exists
// for readers and for restart() only once the manifest lists it as closed, and its object was
// uploaded before. Writes are compare-and-swap on the ETag the writer last read (If-Match, or
// If-None-Match: * for the first version), so two owners of one partition (a zombie for a moment
// after a rebalance) cannot overwrite each other's updates: the one behind gets ManifestConflictError
// and re-reads. Where the S3 server has no conditional writes (`conditional: false`), the writer
// compares the current ETag just before its write instead (a window of one round trip remains).
import type { Client } from 'minio'
import { ArchiveFormatError, manifestKey } from './archive-format.js'

export const MANIFEST_FORMAT = 1

export interface ClosedRange {
  readonly first: number
  readonly last: number
  /** Records present in [first, last] (offsets have gaps: transaction markers, aborted records). */
  readonly records: number
  readonly bytes: number
  readonly sha256: string
  /** The object's full key in the bucket. */
  readonly key: string
  /** Oldest and newest record timestamps (ms); retention drops a range by its newest. */
  readonly minTimestamp: number
  readonly maxTimestamp: number
}

export interface PendingCut {
  readonly first: number
  readonly last: number
}

export interface ArchiveManifest {
  readonly format: number
  readonly topic: string
  readonly partition: number
  /**
   * The last offset archived: the end of the last closed range. Kept when retention drops every
   * range, so that the sink never archives the same offsets again. Null: nothing closed yet.
   */
  readonly last: number | null
  /**
   * Closed ranges in offset order, contiguous (each first is the previous last + 1) except after a
   * range that held no record (only markers): such a range moves `last` and has no object.
   */
  readonly ranges: readonly ClosedRange[]
  readonly pending: PendingCut | null
}

export function emptyManifest(topic: string, partition: number): ArchiveManifest {
  return { format: MANIFEST_FORMAT, topic, partition, last: null, ranges: [], pending: null }
}

/** Another writer changed the manifest since this one read it. Transient: restart() re-reads. */
export class ManifestConflictError extends Error {
  readonly code = 'MANIFEST_CONFLICT'
  constructor(readonly key: string) {
    super(`the archive manifest ${key} was changed by another writer`)
    this.name = 'ManifestConflictError'
  }
}

export interface VersionedManifest {
  readonly manifest: ArchiveManifest
  /** The ETag of the stored version; null when the manifest does not exist yet. */
  readonly etag: string | null
}

export class ManifestStore {
  readonly #client: Client
  readonly #bucket: string
  readonly #prefix: string
  readonly #conditional: boolean

  constructor(client: Client, bucket: string, prefix: string, conditional = true) {
    this.#client = client
    this.#bucket = bucket
    this.#prefix = prefix
    this.#conditional = conditional
  }

  key(topic: string, partition: number): string {
    return manifestKey(this.#prefix, topic, partition)
  }

  async read(topic: string, partition: number): Promise<VersionedManifest> {
    const key = this.key(topic, partition)
    // The ETag is read before the body: if the manifest changes in between, the write based on it
    // fails its precondition (the safe direction), never the other way round.
    let etag: string
    try {
      etag = (await this.#client.statObject(this.#bucket, key)).etag
    } catch (error) {
      if (isNotFound(error)) return { manifest: emptyManifest(topic, partition), etag: null }
      throw error
    }
    let body: Buffer
    try {
      body = await readAll(await this.#client.getObject(this.#bucket, key))
    } catch (error) {
      if (isNotFound(error)) throw new ManifestConflictError(key)
      throw error
    }
    return { manifest: parseManifest(body, topic, partition, key), etag }
  }

  /** Writes `manifest` if the stored version is still `etag`; returns the new ETag. */
  async write(manifest: ArchiveManifest, etag: string | null): Promise<string> {
    const key = this.key(manifest.topic, manifest.partition)
    const body = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`)
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (this.#conditional) {
      if (etag === null) headers['If-None-Match'] = '*'
      else headers['If-Match'] = `"${etag}"`
    } else {
      const current = await this.#client.statObject(this.#bucket, key).then(
        (stat) => stat.etag,
        (error: unknown) => {
          if (isNotFound(error)) return null
          throw error
        },
      )
      if (current !== etag) throw new ManifestConflictError(key)
    }
    try {
      const result = await this.#client.putObject(this.#bucket, key, body, body.length, headers)
      return result.etag
    } catch (error) {
      if (isPreconditionFailed(error)) throw new ManifestConflictError(key)
      throw error
    }
  }
}

export function parseManifest(body: Buffer, topic: string, partition: number, key: string): ArchiveManifest {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new ArchiveFormatError(`the archive manifest ${key} is not JSON`)
  }
  const m = parsed as ArchiveManifest
  const bad = (why: string) => new ArchiveFormatError(`the archive manifest ${key} is invalid: ${why}`)
  if (typeof m !== 'object' || m === null) throw bad('not an object')
  if (m.format !== MANIFEST_FORMAT) throw bad(`format ${String(m.format)}, expected ${MANIFEST_FORMAT}`)
  if (m.topic !== topic || m.partition !== partition) throw bad(`it names ${m.topic}-${m.partition}`)
  if (m.last !== null && !Number.isSafeInteger(m.last)) throw bad('last is not an offset')
  if (!Array.isArray(m.ranges)) throw bad('ranges is not a list')
  let previous: number | undefined
  for (const r of m.ranges) {
    if (!Number.isSafeInteger(r.first) || !Number.isSafeInteger(r.last) || r.first > r.last) {
      throw bad(`range ${r.first}-${r.last}`)
    }
    if (previous !== undefined && r.first <= previous) throw bad(`range ${r.first} overlaps ${previous}`)
    if (typeof r.key !== 'string' || typeof r.sha256 !== 'string')
      throw bad(`range ${r.first} has no key or sha256`)
    previous = r.last
  }
  if (previous !== undefined && (m.last === null || m.last < previous))
    throw bad(`last ${m.last} is below a range`)
  if (m.pending !== null) {
    if (!Number.isSafeInteger(m.pending.first) || !Number.isSafeInteger(m.pending.last))
      throw bad('pending cut')
    if (m.last !== null && m.pending.first !== m.last + 1) throw bad(`pending cut does not follow ${m.last}`)
  }
  return m
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'NotFound' || code === 'NoSuchKey'
}

function isPreconditionFailed(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'PreconditionFailed'
}
