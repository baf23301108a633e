// The public API of the topology engine: the DSL, the Processor API, stores, serdes, errors and the test
// driver. Everything under internals/ is the engine's own and is not imported by users.
export { type Branched, BranchedKStream } from './branched-kstream.js'
export { Change } from './change.js'
export {
  isTopologyError,
  TopologyBuildError,
  TopologyError,
  type TopologyErrorCode,
  topologyErrorCodes,
} from './errors.js'
export type {
  SubtopologyDescription,
  TopologyDescription,
} from './internals/describe/topology-description.js'
export type { DeadLetter, LateLetter, LateRecordInfo } from './internals/runtime/record-collector.js'
export type { ChangelogRecord } from './internals/state/build-key-value-store.js'
export { KGroupedStream } from './kgrouped-stream.js'
export { KGroupedTable } from './kgrouped-table.js'
export { KStream } from './kstream.js'
export { KTable } from './ktable.js'
export { Materialized } from './materialized.js'
export { type EngineMetrics, NO_METRICS, type StoreOperation } from './metrics.js'
export type {
  AsyncOptions,
  Combined,
  Consumed,
  Grouped,
  Joined,
  Named,
  Produced,
  Repartitioned,
  SerdeOptions,
} from './options.js'
export type {
  Cancellable,
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  PunctuationType,
  Punctuator,
  RecordContext,
} from './processor.js'
export type {
  BadRecordResponse,
  DeadLetterCause,
  DeserializationExceptionHandler,
  ProcessingExceptionHandler,
  RawRecord,
  TimestampExtractor,
} from './record-handlers.js'
export { type Serde, Serdes } from './serdes.js'
export { SessionWindowedKStream } from './session-windowed-kstream.js'
export { SlidingWindowedKStream } from './sliding-windowed-kstream.js'
export {
  isStateStoreType,
  type KeyValueStore,
  type ReadOnlyKeyValueStore,
  STATE_STORE_TYPES,
  type StateStore,
  type StateStoreType,
} from './state-store.js'
export { KeyValueStoreBuilder, Stores } from './stores.js'
export { type Headers, type KeyValue, NO_HEADERS, StreamRecord } from './stream-record.js'
export { StreamsBuilder, type StreamsBuilderOptions } from './streams-builder.js'
export { type InputTopicOptions, TestInputTopic } from './test-driver/test-input-topic.js'
export { TestOutputTopic } from './test-driver/test-output-topic.js'
export type { TestRecord } from './test-driver/test-record.js'
export { TopologyTestDriver, type TopologyTestDriverOptions } from './test-driver/topology-test-driver.js'
export { TimeWindowedKStream } from './time-windowed-kstream.js'
export { type ChangelogTopic, Topology } from './topology.js'
export { WindowedKTable } from './windowed-ktable.js'
export * from './windows/index.js'
