// Key-value stores on disk, in LMDB (the `lmdb` package: a memory-mapped B+tree whose reads are
// synchronous, which the store contract needs), for state larger than the process should hold: the
// values live in the page cache, which the kernel can evict and reload, instead of the V8 heap and the
// in-memory stores' arenas. The role RocksDB plays in Kafka Streams, with one difference: the files are
// not a checkpoint. An instance wipes them at start and every task restores its stores from their
// changelogs, as it does in memory, so exactly-once never depends on what a crash left on disk.
//
// One LMDB environment per instance (LmdbStores), one named database per store of a task. Writes
// collect in a pending map (which reads see first) and go to LMDB in one write transaction at flush,
// which the task calls at every commit, or sooner once PENDING_LIMIT keys wait.
import { mkdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
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
/** The most an environment's files may hold: 1 TiB. */
const MAP_BYTES = 2 ** 40
/** Named databases open at once in one environment (a store of a task each). */
const MAX_DATABASES = 100_000
const KEY_TAG = 0

/** The LMDB environment of one instance (or one test driver): a directory wiped when opened and closed. */
export class LmdbStores {
  readonly #root: RootDatabase
  #opened = 0
  #closed = false

  constructor(readonly directory: string) {
    rmSync(directory, { recursive: true, force: true })
    mkdirSync(directory, { recursive: true })
    // noReadAhead is in lmdb's options (open.js) but not in its types.
    const options: RootDatabaseOptionsWithPath & { noReadAhead: boolean } = {
      path: directory,
      // Address space only: the file grows as it fills. One mapping for the environment's life; grown
      // step by step, lmdb keeps each outgrown mapping (and its resident pages, counted again in RSS).
      mapSize: MAP_BYTES,
      maxDbs: MAX_DATABASES,
      // The changelog is what survives a crash: no fsync, no read-ahead of pages nobody asked for.
      noSync: true,
      noMetaSync: true,
      noReadAhead: true,
      compression: false,
      cache: false,
    }
    // Loaded here, not imported: a deployment whose stores stay in memory never loads the native addon.
    const { open } = createRequire(import.meta.url)('lmdb') as typeof import('lmdb')
    this.#root = open(options)
  }

  /** A new, empty database for one store of one task; drop() it when the task closes. */
  open(name: string): Database<Buffer, Buffer> {
    // Each open gets its own name, so a task that comes back never sees a database being dropped.
    return this.#root.openDB({
      name: `${name}#${++this.#opened}`,
      encoding: 'binary',
      keyEncoding: 'binary',
      cache: false,
    }) as unknown as Database<Buffer, Buffer>
  }

  /** Deletes a database open() returned; nothing once the environment is closed (its files are gone). */
  drop(db: Database<Buffer, Buffer>): void {
    if (!this.#closed) db.dropSync()
  }

  /** Closes the environment and deletes its files. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#root.close()
    rmSync(this.directory, { recursive: true, force: true })
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
    this.#db = stores.open(databaseName)
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
    return (this.#db.getStats() as { entryCount: number }).entryCount
  }

  /** The memory the store holds: its pending writes (the rest is in LMDB's files and the page cache). */
  approximateBytes(): number {
    return mapBytes(this.#pending) + this.#pendingBytes
  }

  /** Writes the pending map to LMDB in one transaction. */
  flush(): void {
    if (this.#pending.size === 0) return
    const pending = this.#pending
    this.#flushes++
    this.#pending = new Map()
    this.#pendingBytes = 0
    const db = this.#db
    db.transactionSync(() => {
      for (const { key, bytes } of pending.values()) {
        if (bytes === null) db.removeSync(key)
        else db.putSync(key, bytes)
      }
    })
  }

  /** Drops the database: its state lives on in the changelog, which the next owner restores. */
  close(): void {
    this.#pending.clear()
    this.#pendingBytes = 0
    this.#stores.drop(this.#db)
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
