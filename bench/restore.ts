// How long a task takes to restore a key-value store from its changelog, with the store in memory and in
// LMDB (stateStore 'lmdb'), alternated: N records of distinct UUID keys and 600-byte values (about a
// task snapshot of P8), restored in batches as fetches bring them, through buildKeyValueStore as a
// task builds its stores. A start without an LMDB checkpoint (after a crash, or in memory) restores
// every store this way; `npm run bench:restart` measures whole restarts, with and without one.
//
//   npm run bench:restore [-- --records 500000 --batch 1000]
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NO_METRICS, Serdes, STATE_STORE_TYPES, type StateStoreType } from '../topology/index.js'
import { BufferingRecordCollector } from '../topology/internals/runtime/record-collector.js'
import {
  buildKeyValueStore,
  type ChangelogRecord,
} from '../topology/internals/state/build-key-value-store.js'
import { LmdbStores } from '../topology/internals/state/lmdb-key-value-store.js'
import type { StoreEnvironment } from '../topology/internals/state/store-environment.js'
import { machineLoad } from './machine.js'

const option = (name: string, fallback: number) =>
  Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || fallback
const RECORDS = option('records', 500_000)
const BATCH = option('batch', 1000)

function restoreMs(stateStore: StateStoreType, records: readonly ChangelogRecord[]): number {
  const directory = mkdtempSync(join(tmpdir(), 'bench-restore-'))
  const lmdb = stateStore === 'lmdb' ? new LmdbStores(join(directory, 'lmdb')) : undefined
  const env: StoreEnvironment = {
    applicationId: 'bench',
    taskId: '0_0',
    partition: 0,
    collector: new BufferingRecordCollector(),
    recordContext: { current: undefined },
    metrics: NO_METRICS,
    cacheMaxBytes: 0,
    ...(lmdb === undefined ? {} : { lmdb }),
  }
  const built = buildKeyValueStore<string, Buffer>(
    {
      kind: 'key-value',
      name: 'tasks',
      keySerde: Serdes.String() as never,
      valueSerde: Serdes.Buffer() as never,
      cachingEnabled: true,
      loggingEnabled: true,
    },
    env,
  )
  const started = performance.now()
  for (let i = 0; i < records.length; i += BATCH) built.restore(records.slice(i, i + BATCH))
  const ms = performance.now() - started
  if (built.store.approximateNumEntries() !== records.length) throw new Error('restore lost records')
  built.store.close()
  lmdb?.close()
  rmSync(directory, { recursive: true, force: true })
  return ms
}

const records = Array.from({ length: RECORDS }, () => ({
  key: Buffer.from(randomUUID()),
  value: Buffer.alloc(600, 7),
}))
console.log(`${RECORDS} records, batches of ${BATCH}; ${machineLoad()}`)
const results: string[] = []
for (let round = 1; round <= 2; round++) {
  for (const stateStore of STATE_STORE_TYPES) {
    const ms = restoreMs(stateStore, records)
    console.log(`  ${stateStore}: ${Math.round(ms)} ms, ${((ms * 1000) / RECORDS).toFixed(1)} µs per record`)
    results.push(`${stateStore}_${round}_ms=${Math.round(ms)}`)
  }
}
console.log(`after: ${machineLoad()}`)
console.log(results.join(' '))
