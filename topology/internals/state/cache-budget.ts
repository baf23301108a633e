// The byte budget the caches of one task share (Kafka Streams' ThreadCache: one budget for all the
// stores of a thread, here of a task). Each dirty entry gets a task-wide sequence number when it becomes
// dirty; past the budget, the cache that holds the oldest dirty entry writes that entry through, and so
// on until the total fits, so that a busy store cannot keep a quiet one's old updates unflushed forever.

/** A cache that takes part in a budget. */
export interface BudgetedCache {
  /** Sequence number of its oldest dirty entry, +Infinity when it has none. */
  oldestSequence(): number
  /** Writes its oldest dirty entry through and releases its bytes (budget.release). */
  evictOldest(): void
}

export class CacheBudget {
  /** Estimated bytes of the dirty entries of every cache. */
  bytes = 0
  #sequence = 0
  #evicting = false
  readonly #caches: BudgetedCache[] = []

  constructor(readonly maxBytes: number) {}

  register(cache: BudgetedCache): void {
    this.#caches.push(cache)
  }

  nextSequence(): number {
    return this.#sequence++
  }

  /** Evicts the oldest entries across the caches until the total fits. */
  evict(): void {
    // An eviction forwards downstream, which may write into another cache: the outer loop goes on.
    if (this.#evicting) return
    this.#evicting = true
    try {
      const caches = this.#caches
      while (this.bytes > this.maxBytes) {
        let victim: BudgetedCache | undefined
        let oldest = Number.POSITIVE_INFINITY
        for (const cache of caches) {
          const sequence = cache.oldestSequence()
          if (sequence < oldest) {
            oldest = sequence
            victim = cache
          }
        }
        if (victim === undefined) return
        victim.evictOldest()
      }
    } finally {
      this.#evicting = false
    }
  }
}
