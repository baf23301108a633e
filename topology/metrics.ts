// The engine's tiny metrics hook. prom-client wiring lives in config/ and adapts to this interface; the
// engine never imports it. A disabled sink costs one boolean test per store operation.

export type StoreOperation = 'get' | 'put' | 'delete' | 'all' | 'flush' | 'restore'

export interface EngineMetrics {
  /** When false, stores do not read the clock at all. */
  readonly enabled: boolean
  storeOperation(store: string, operation: StoreOperation, durationMs: number): void
  /** Records a task processed since the previous call (called at each commit). */
  recordsProcessed(taskId: string, count: number): void
  /** A record diverted by an exception handler ('dead-letter' or 'continue'), with the cause's code. */
  badRecord?(taskId: string, code: string, response: 'dead-letter' | 'continue'): void
  /**
   * A record a windowed aggregate dropped as too late (it changed no window), by the processor and its
   * store: Kafka Streams' dropped-records sensor. Called whether or not lateRecords() keeps the record.
   */
  lateRecord?(taskId: string, processor: string, store: string): void
  /** A record a join dropped because its key or value was null (Kafka Streams' dropped-records sensor). */
  droppedRecord?(taskId: string, processor: string, reason: 'null-key' | 'null-value'): void
}

export const NO_METRICS: EngineMetrics = {
  enabled: false,
  storeOperation: () => {},
  recordsProcessed: () => {},
  badRecord: () => {},
  lateRecord: () => {},
  droppedRecord: () => {},
}
