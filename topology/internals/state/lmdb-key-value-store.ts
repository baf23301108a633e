// Key-value stores on disk, in LMDB (the `lmdb` package: a memory-mapped B+tree whose reads are
// synchronous, which the store contract needs), for state larger than the process should hold: the
// values live in the page cache, which the kernel can evict and reload, instead of the V8 heap and the
// in-memory stores' arenas. The role RocksDB plays in Kafka Streams.
//
// One LMDB environment per instance (LmdbStores), one named database per store of a task. Writes
// collect in a pending map (which reads see first) and go to LMDB at flush, in write transactions of
// KEYS_PER_TRANSACTION keys; the task flushes at every commit, or sooner once PENDING_LIMIT keys wait.
// Nothing is fsynced while the instance runs, and LMDB may hold writes of a transaction that later
// aborts: the files are only trusted through a checkpoint, as Kafka Streams does under exactly-once. A
// clean close, after its last commit, syncs the files and writes `checkpoint.json`: for each store,
// its changelog partition (and the topic's id) and the offset its contents cover. The next start reads
// the checkpoint and deletes it before anything is written, so that a crash from then on leaves no
// checkpoint: without one, the directory is wiped and every store restores its whole changelog. With
// one, a task restores only the changelog's tail from that offset (restoreFrom), provided the topic is
// the same one and still holds that offset.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Database, RootDatabase, RootDatabaseOptionsWithPath } from 'lmdb'
import { TopologyError } from '../../errors.js'
import type { Serde } from '../../serdes.js'
import type { KeyId, KeyIdOf } from './key-id.js'
import { deleteThroughPut, type KeyValueLayer, putIfAbsentThroughPut } from './key-value-layer.js'
import { mapBytes } from './store-bytes.js'

/** LMDB's largest key, less the tag byte each key starts with (LMDB refuses an empty key). */
export const MAX_KEY_BYTES = 1977
/** Writes kept in memory before a flush: bounds the pending map between commits. */
export const PENDING_LIMIT = 10_000
/**
 * Keys a flush writes per LMDB write transaction. A transaction holds every page it dirties in memory
 * until it commits, and LMDB keeps those page buffers afterwards for its next transactions (its list
 * of dirty pages to reuse, never given back to the allocator): the largest transaction sets memory the
 * process keeps for good. 1M random puts into one database, in transactions of 10,000, left 47 MiB of
 * anonymous memory that way; in transactions of 1,000, 10 MiB, 13% faster.
 */
export const KEYS_PER_TRANSACTION = 1000
/**
 * The oldest checkpoint a start uses: 12 h, half of Kafka's default delete.retention.ms (24 h). A
 * compacted changelog drops a tombstone that much after cleaning it, so a checkpoint older than that
 * could miss a delete and keep the key forever.
 */
export const CHECKPOINT_MAX_AGE_MS = 12 * 60 * 60 * 1000
/** The most an environment's files may hold: 1 TiB. */
const MAP_BYTES = 2 ** 40
/** Named databases open at once in one environment (a store of a task each). */
const MAX_DATABASES = 100_000
const KEY_TAG = 0
const CHECKPOINT_FILE = 'checkpoint.json'
const CHECKPOINT_VERSION = 1

/**
 * Writes `items` with `write` in LMDB write transactions of at most `perTransaction` items each, `first`
 * (when given) in the first of them. Nothing reads between two of them, and the files are only trusted
 * through a checkpoint written after the last (a crash wipes them), so one flush need not be one
 * transaction.
 */
export function writeInTransactions<T>(
  db: Database,
  items: Iterable<T>,
  perTransaction: number,
  write: (item: T) => void,
  first?: () => void,
): void {
  const iterator = items[Symbol.iterator]()
  let next = iterator.next()
  let pending = first
  while (!next.done || pending !== undefined) {
    db.transactionSync(() => {
      pending?.()
      pending = undefined
      for (let n = 0; n < perTransaction && !next.done; n++) {
        write(next.value)
        next = iterator.next()
      }
    })
  }
}

/** The database of one store of one task: the name a checkpoint knows it by. */
export function lmdbDatabaseName(taskId: string, store: string): string {
  return `${taskId}/${store}`
}

/** The task whose store a database holds (lmdbDatabaseName's inverse). */
export function lmdbDatabaseTask(name: string): string {
  return name.slice(0, name.indexOf('/'))
}

/** What a checkpoint says of one database: it holds its changelog partition's records up to `offset`. */
export interface CheckpointEntry {
  readonly database: string
  readonly topic: string
  /** The topic's id: a topic deleted and created again (an application reset) has another. */
  readonly topicId: string
  readonly partition: number
  /** The changelog offset to restore from: every record before it is in the database. */
  readonly offset: number
}

interface CheckpointFile {
  readonly version: number
  readonly writtenAt: number
  /** With each database's entry count, checked at open: files lost or replaced are not trusted. */
  readonly entries: readonly (CheckpointEntry & { readonly count: number })[]
}

/** What an environment found when it opened its directory. */
export type LmdbOpening =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'checkpoint'; readonly databases: number; readonly writtenAt: number }
  | { readonly kind: 'discarded'; readonly reason: string }

interface OpenDatabase {
  readonly db: Database<Buffer, Buffer>
  /** True when the store has writes not yet in LMDB. */
  readonly pending: () => boolean
}

export interface LmdbStoresOptions {
  /**
   * Keep the files across a clean close with a checkpoint, and use the one a previous clean close left
   * (the runtime). Without it (the test driver) the directory is wiped when opened and deleted when
   * closed.
   */
  readonly checkpoints?: boolean
  /** For tests: the clock checkpoints are dated and aged by. */
  readonly now?: () => number
}

/** The LMDB environment of one instance (or one test driver). */
export class LmdbStores {
  readonly #root: RootDatabase
  readonly #checkpoints: boolean
  readonly #now: () => number
  /** Databases a checkpoint vouched for, not yet claimed by restoreFrom (nor discarded). */
  readonly #checkpointed = new Map<string, CheckpointEntry>()
  readonly #open = new Map<string, OpenDatabase>()
  /** Set once a checkpoint is written: from then on nothing writes to the files (no drop either). */
  #checkpointWritten = false
  #unique = 0
  #closed = false
  readonly opening: LmdbOpening

  constructor(
    readonly directory: string,
    options: LmdbStoresOptions = {},
  ) {
    this.#checkpoints = options.checkpoints === true
    this.#now = options.now ?? Date.now
    const found = this.#checkpoints ? this.#takeCheckpoint() : undefined
    if (found?.kind !== 'found') rmSync(directory, { recursive: true, force: true })
    mkdirSync(directory, { recursive: true })
    // noReadAhead is in lmdb's options (open.js) but not in its types.
    const options_: RootDatabaseOptionsWithPath & { noReadAhead: boolean } = {
      path: directory,
      // Address space only: the file grows as it fills. One mapping for the environment's life; grown
      // step by step, lmdb keeps each outgrown mapping (and its resident pages, counted again in RSS).
      mapSize: MAP_BYTES,
      maxDbs: MAX_DATABASES,
      // The changelog is what survives a crash: no fsync while running (a clean close syncs before it
      // writes a checkpoint), no read-ahead of pages nobody asked for.
      noSync: true,
      noMetaSync: true,
      noReadAhead: true,
      compression: false,
      cache: false,
    }
    // Loaded here, not imported: a deployment whose stores stay in memory never loads the native addon.
    const { open } = createRequire(import.meta.url)('lmdb') as typeof import('lmdb')
    this.#root = open(options_)
    if (found?.kind === 'found') {
      const names = new Set([...this.#root.getKeys()].map(String))
      for (const entry of found.entries) {
        if (!names.has(entry.database)) continue
        if (entryCount(this.#database(entry.database)) === entry.count)
          this.#checkpointed.set(entry.database, entry)
      }
      // Whatever else the files hold (nothing, after a clean close) is dropped.
      for (const name of names) if (!this.#checkpointed.has(name)) this.#database(name).dropSync()
      this.opening = { kind: 'checkpoint', databases: this.#checkpointed.size, writtenAt: found.writtenAt }
    } else {
      this.opening = found ?? { kind: 'fresh' }
    }
  }

  /**
   * The database of one store of one task; drop it with release() when the task closes. Empty, unless
   * a checkpoint vouched for it: then it holds what it held, until restoreFrom() says whether that is
   * of use.
   */
  open(
    name: string,
    pending: () => boolean = () => false,
  ): { readonly name: string; readonly db: Database<Buffer, Buffer> } {
    // A second store of the same name while the first is open (never in the runtime, which closes a
    // task before it creates it again) gets a database of its own, never checkpointed.
    const unique = this.#open.has(name) ? `${name}#${++this.#unique}` : name
    const db = this.#database(unique)
    if (!this.#checkpointed.has(unique)) db.clearSync()
    this.#open.set(unique, { db, pending })
    return { name: unique, db }
  }

  /**
   * Where a store's restore starts: the checkpoint's offset when it vouched for this database, for this
   * changelog partition of the topic of this id, and the changelog still holds it (`start` <= offset <=
   * `end`); undefined otherwise, after emptying the database, so that the restore starts at `start`.
   */
  restoreFrom(
    name: string,
    changelog: { topic: string; topicId: string | undefined; partition: number; start: number; end: number },
  ): number | undefined {
    const entry = this.#checkpointed.get(name)
    if (entry === undefined) return undefined
    this.#checkpointed.delete(name)
    const usable =
      this.#checkpointFresh() &&
      entry.topic === changelog.topic &&
      entry.topicId === changelog.topicId &&
      entry.partition === changelog.partition &&
      entry.offset >= changelog.start &&
      entry.offset <= changelog.end
    if (usable) return entry.offset
    this.#open.get(name)?.db.clearSync()
    return undefined
  }

  /** The databases a checkpoint vouched for that no restoreFrom() claimed yet (none once it is too old). */
  checkpointedDatabases(): string[] {
    return this.#checkpointFresh() ? [...this.#checkpointed.keys()] : []
  }

  /**
   * Empties the open databases a checkpoint vouched for that no restoreFrom() claimed (a store no
   * longer logged): the runtime calls it once the new tasks' restores are planned.
   */
  discardUnclaimed(): void {
    for (const [name, { db }] of this.#open) {
      if (!this.#checkpointed.delete(name)) continue
      db.clearSync()
    }
  }

  /**
   * After the last commit of a clean close: syncs the files and writes a checkpoint for these databases
   * (those still open with nothing pending). Nothing may write to the files after it: their stores'
   * close() then keeps them. False when nothing could be checkpointed.
   */
  async checkpoint(entries: readonly CheckpointEntry[]): Promise<boolean> {
    if (!this.#checkpoints || this.#closed) return false
    await new Promise<void>((resolve, reject) => {
      // sync() is in lmdb's environment (open.js) but not in its types.
      ;(this.#root as unknown as { sync(done: (error: unknown) => void): void }).sync((error) =>
        error ? reject(error) : resolve(),
      )
    })
    // A deadline may have closed the stores or the environment while the sync ran.
    if (this.#closed) return false
    const kept = entries.flatMap((e) => {
      const open = this.#open.get(e.database)
      return open === undefined || open.pending() ? [] : [{ ...e, count: entryCount(open.db) }]
    })
    if (kept.length === 0) return false
    const file: CheckpointFile = { version: CHECKPOINT_VERSION, writtenAt: this.#now(), entries: kept }
    const path = join(this.directory, CHECKPOINT_FILE)
    writeFileSync(`${path}.tmp`, JSON.stringify(file))
    syncPath(`${path}.tmp`)
    renameSync(`${path}.tmp`, path)
    syncPath(this.directory)
    this.#checkpointWritten = true
    return true
  }

  /**
   * Drops a database open() returned. Nothing once the environment is closed, nor once a checkpoint is
   * written: the files must stay as synced, and the next start drops what the checkpoint does not cover.
   */
  release(name: string): void {
    const open = this.#open.get(name)
    if (open === undefined) return
    this.#open.delete(name)
    this.#checkpointed.delete(name)
    if (this.#closed || this.#checkpointWritten) return
    open.db.dropSync()
  }

  /** Closes the environment. Its files stay when a checkpoint was written, and are deleted otherwise. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#root.close()
    if (!this.#checkpointWritten) rmSync(this.directory, { recursive: true, force: true })
  }

  // A task assigned long after the start must not use a checkpoint that has grown too old meanwhile.
  #checkpointFresh(): boolean {
    return this.opening.kind === 'checkpoint' && this.#now() - this.opening.writtenAt <= CHECKPOINT_MAX_AGE_MS
  }

  #database(name: string): Database<Buffer, Buffer> {
    return this.#root.openDB({
      name,
      encoding: 'binary',
      keyEncoding: 'binary',
      cache: false,
    }) as unknown as Database<Buffer, Buffer>
  }

  // Reads the checkpoint a clean close left, and deletes it (durably) before LMDB writes anything.
  #takeCheckpoint():
    | { kind: 'found'; entries: CheckpointFile['entries']; writtenAt: number }
    | LmdbOpening
    | undefined {
    const path = join(this.directory, CHECKPOINT_FILE)
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
    rmSync(path, { force: true })
    syncPath(this.directory)
    let file: CheckpointFile
    try {
      file = JSON.parse(text) as CheckpointFile
    } catch {
      return { kind: 'discarded', reason: `${CHECKPOINT_FILE} is not JSON` }
    }
    if (
      file.version !== CHECKPOINT_VERSION ||
      !Array.isArray(file.entries) ||
      typeof file.writtenAt !== 'number'
    )
      return {
        kind: 'discarded',
        reason: `${CHECKPOINT_FILE} has an unknown format (version ${String(file.version)})`,
      }
    const age = this.#now() - file.writtenAt
    if (age > CHECKPOINT_MAX_AGE_MS) {
      return {
        kind: 'discarded',
        reason: `the checkpoint is ${Math.round(age / 60_000)} min old, more than ${CHECKPOINT_MAX_AGE_MS / 60_000} min: a compacted changelog may have dropped deletes since`,
      }
    }
    return { kind: 'found', entries: file.entries, writtenAt: file.writtenAt }
  }
}

function entryCount(db: Database<Buffer, Buffer>): number {
  return (db.getStats() as { entryCount: number }).entryCount
}

/** fsync of a file or a directory (a rename or delete in it). */
function syncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

interface Pending {
  /** The key as LMDB keeps it (keyBytes). */
  readonly key: Buffer
  readonly bytes: Buffer | null
}

/** What V8 takes for a Buffer beside its bytes, and for the pending entry's object. */
const PENDING_OVERHEAD = 200

export class LmdbKeyValueStore<K, V> implements KeyValueLayer<K, V> {
  readonly persistent = true
  readonly #stores: LmdbStores
  readonly #db: Database<Buffer, Buffer>
  readonly #databaseName: string
  /** Writes not yet in LMDB, by key id; a null value is a delete. */
  #pending = new Map<KeyId, Pending>()
  #pendingBytes = 0
  /** Flushes so far: all() reads the current value once one happened while it iterated. */
  #flushes = 0
  lastPutBytes: Buffer | null = null

  constructor(
    readonly name: string,
    stores: LmdbStores,
    databaseName: string,
    private readonly keyId: KeyIdOf<K>,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    /** The topic the serdes are called with (the changelog's). */
    private readonly topic: string,
  ) {
    this.#stores = stores
    const opened = stores.open(databaseName, () => this.#pending.size > 0)
    this.#databaseName = opened.name
    this.#db = opened.db
  }

  get(key: K): V | undefined {
    const pending = this.#pending.get(this.keyId(key))
    const bytes = pending === undefined ? this.#read(key) : pending.bytes
    return bytes === null || bytes === undefined ? undefined : this.valueSerde.deserialize(this.topic, bytes)
  }

  put(key: K, value: V | null): void {
    this.lastPutBytes = value === null ? null : this.valueSerde.serialize(this.topic, value)
    this.restore(key, this.lastPutBytes)
  }

  /** A write of a value as stored (the changelog's bytes); null deletes. */
  restore(key: K, bytes: Buffer | null): void {
    const id = this.keyId(key)
    const old = this.#pending.get(id)
    if (old !== undefined) this.#pendingBytes -= old.bytes?.length ?? 0
    const lmdbKey = old?.key ?? this.#checkedKey(key)
    if (old === undefined) this.#pendingBytes += PENDING_OVERHEAD + lmdbKey.length
    this.#pending.set(id, { key: lmdbKey, bytes })
    this.#pendingBytes += bytes?.length ?? 0
    if (this.#pending.size >= PENDING_LIMIT) this.flush()
  }

  putIfAbsent(key: K, value: V): V | undefined {
    return putIfAbsentThroughPut(this, key, value)
  }

  delete(key: K): V | undefined {
    return deleteThroughPut(this, key)
  }

  /**
   * Every entry in key-byte order. Over LMDB's snapshot as of the call, with the writes made since (by
   * the caller while it iterates) taken into account for the keys still to come: a key deleted meanwhile
   * is skipped, one changed comes with its new value, one added may or may not be seen.
   */
  *all(): IterableIterator<[K, V]> {
    this.flush()
    const flushes = this.#flushes
    for (const { key: lmdbKey, value } of this.#db.getRange()) {
      const key = this.keySerde.deserialize(this.topic, lmdbKey.subarray(1))
      if (this.#pending.size === 0 && this.#flushes === flushes) {
        yield [key, this.valueSerde.deserialize(this.topic, value)]
        continue
      }
      const current = this.get(key)
      if (current !== undefined) yield [key, current]
    }
  }

  /** Exact: the pending writes go to LMDB first (nothing reads the files but this store). */
  approximateNumEntries(): number {
    this.flush()
    return entryCount(this.#db)
  }

  /** The memory the store holds: its pending writes (the rest is in LMDB's files and the page cache). */
  approximateBytes(): number {
    return mapBytes(this.#pending) + this.#pendingBytes
  }

  /** Writes the pending map to LMDB (in transactions of KEYS_PER_TRANSACTION keys). */
  flush(): void {
    if (this.#pending.size === 0) return
    const pending = this.#pending
    this.#flushes++
    this.#pending = new Map()
    this.#pendingBytes = 0
    const db = this.#db
    writeInTransactions(db, pending.values(), KEYS_PER_TRANSACTION, ({ key, bytes }) => {
      if (bytes === null) db.removeSync(key)
      else db.putSync(key, bytes)
    })
  }

  /**
   * Drops the database (its state lives on in the changelog, which the next owner restores), unless a
   * checkpoint written after the last commit keeps it for the next start.
   */
  close(): void {
    this.#pending.clear()
    this.#pendingBytes = 0
    this.#stores.release(this.#databaseName)
  }

  #read(key: K): Buffer | undefined {
    const lmdbKey = this.#keyBytes(key)
    return lmdbKey.length > MAX_KEY_BYTES + 1 ? undefined : this.#db.get(lmdbKey)
  }

  #checkedKey(key: K): Buffer {
    const bytes = this.#keyBytes(key)
    const length = bytes.length - 1
    if (length > MAX_KEY_BYTES) {
      throw new TopologyError(
        'STORE_KEY_TOO_LARGE',
        `store ${this.name} keeps its state in LMDB, whose keys are at most ${MAX_KEY_BYTES} bytes; this ` +
          `key serializes to ${length}. Shorten the key (a hash of it), or keep this store in memory ` +
          "(stateStore 'memory')",
        { subject: this.name },
      )
    }
    return bytes
  }

  /** The key's serde bytes after a tag byte, so that an empty key is a valid LMDB key too. */
  #keyBytes(key: K): Buffer {
    const serialized = this.keySerde.serialize(this.topic, key)
    const bytes = Buffer.allocUnsafe(1 + (serialized?.length ?? 0))
    bytes[0] = KEY_TAG
    serialized?.copy(bytes, 1)
    return bytes
  }
}
