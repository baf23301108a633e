// What a task gives the stores it builds: where changelog records go, the current record context (for
// their timestamps), metrics, the cache budget and, for stores kept on disk, the LMDB environment.
import type { EngineMetrics } from '../../metrics.js'
import type { RecordCollector } from '../runtime/record-collector.js'
import type { RecordContextHolder } from '../runtime/record-context-holder.js'
import type { CacheBudget } from './cache-budget.js'
import type { LmdbStores } from './lmdb-key-value-store.js'

export interface StoreEnvironment {
  readonly applicationId: string
  readonly taskId: string
  readonly partition: number
  readonly collector: RecordCollector
  readonly recordContext: RecordContextHolder
  readonly metrics: EngineMetrics
  /** Bytes of dirty entries a caching store may hold before it flushes the oldest early. */
  readonly cacheMaxBytes: number
  /** The budget the task's caches share; without it each cache has its own of cacheMaxBytes. */
  readonly cacheBudget?: CacheBudget
  /** Where the key-value stores with key and value serdes keep their entries; in memory without it. */
  readonly lmdb?: LmdbStores
  /** With lmdb: window and session stores keep their entries there too (windowStateStore 'lmdb'). */
  readonly lmdbWindows?: boolean
}
