// The runtime's metrics hooks. The engine never imports prom-client: config/metrics.ts defines every
// Prometheus metric once and adapts to this interface (see streamsMetrics there).

export interface RuntimeMetrics {
  /** Records read from a source topic and processed, counted at each commit. */
  recordsConsumed(topic: string, count: number): void
  /** One commit (transaction or offset commit) and how long it took. */
  commit(durationMs: number, records: number): void
  /** A transaction aborted, with why (TASK_MIGRATED, COMMIT_FAILED, ...). */
  transactionAborted(reason: string): void
  /** A store restored from its changelog on assignment. */
  restored(store: string, records: number, durationMs: number): void
  /** A record sent to the dead-letter topic, with its error code. */
  deadLetter(code: string): void
  /** The tasks this instance runs now. */
  tasks(count: number): void
  /** Lag (records) of one input partition this instance owns: log end minus next offset to process. */
  partitionLag(topic: string, partition: number, lag: number): void
  /** A completed rebalance and how long processing stopped for it. */
  rebalance(pauseMs: number): void
  /**
   * Records processed in one round whose results were just handed to the transaction (at the end of
   * the round, or as a commit starts when another commit was in flight), with when that round's fetch
   * response arrived (performance.now()): once per round. A record buffered across rounds (a backlog)
   * counts in the round that processed it. Optional: without it the runtime keeps no such times.
   */
  handedToTransaction?(fetchedAtMs: number, records: number): void
  /**
   * The producer thread's V8 heap (`producerThread`), sampled every few seconds while it runs: its
   * isolate is not in the process's own heap figures. Optional.
   */
  producerThreadHeap?(usedBytes: number, totalBytes: number): void
  /** Every store's entries and estimated bytes over this instance's tasks (KafkaStreams.storeSizes()), every few seconds. Optional. */
  stores?(sizes: readonly StoreSize[]): void
}

/** One store's size over an instance's tasks. */
export interface StoreSize {
  readonly store: string
  readonly entries: number
  /** An estimate of the memory the store holds: its arrays and arenas exactly, keys from a sample. */
  readonly bytes: number
}

export const NO_RUNTIME_METRICS: RuntimeMetrics = {
  recordsConsumed: () => {},
  commit: () => {},
  transactionAborted: () => {},
  restored: () => {},
  deadLetter: () => {},
  tasks: () => {},
  partitionLag: () => {},
  rebalance: () => {},
}
