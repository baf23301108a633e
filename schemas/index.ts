// The public face of the schemas layer: event types, the serde factory, the registry client and its
// provisioning, the compatibility check and the event generator. Other layers import from here.
export {
  type CompatibilityProblem,
  cannotRead,
  checkCompatibility,
} from './compatibility/check-compatibility.js'
export {
  type DeadLetterReason,
  DecodeError,
  type DecodeErrorCode,
  decodeErrorCodes,
  isDecodeError,
  type RecordLocation,
  SchemaError,
  type SchemaErrorCode,
  schemaErrorCodes,
} from './errors.js'
export {
  EVENT_FAMILIES,
  type EventFamily,
  eventFamilies,
  isEventFamily,
  topicNames,
  valueSubject,
} from './event-families.js'
export * from './generated/types.js'
export type { GeneratedRecord } from './generator/disorder-stage.js'
export type { FixtureFormat } from './generator/file-sink.js'
export { decodeFixtureFile, type FixtureRecord } from './generator/fixture-binary-format.js'
export { decodeJsonlFile } from './generator/fixture-jsonl-format.js'
export { generateRecords } from './generator/generate-records.js'
export { type GeneratorOptions, generatorOptionsSchema } from './generator/generator-options.js'
export {
  type ProduceEventsOptions,
  type ProduceProgress,
  type ProduceTarget,
  type ProgressCallback,
  produceEvents,
} from './generator/produce-events.js'
export type { OutgoingRecord, RecordSink } from './generator/record-sink.js'
export { payloadName, payloadOf } from './payload.js'
export { MemorySchemaLookup } from './registry/memory-schema-lookup.js'
export {
  type RegisterEventSchemasOptions,
  registerEventSchemas,
  registerSchemas,
  type SubjectRegistration,
} from './registry/register-event-schemas.js'
export {
  type CompatibilityLevel,
  RegistryClient,
  type RegistryClientOptions,
} from './registry/registry-client.js'
export { registrySchemaLookup, type SchemaLookup } from './registry/schema-lookup.js'
export {
  type FamilySchemas,
  loadOutputSchemas,
  loadSchemaCatalog,
  type OutputSchemaName,
  outputSchema,
  outputSchemas,
  type SchemaCatalog,
  type SchemaName,
  schemaCatalog,
} from './schema-catalog.js'
export {
  createEventSerde,
  createEventSerdes,
  createEventSerdesFromConfig,
  type EventSerdes,
  type EventSerdesOptions,
} from './serde/create-event-serdes.js'
export { type EventSerde, SCHEMA_ENCODINGS, type SchemaEncoding } from './serde/event-serde.js'
