// The platform's event serdes (schemas/, either encoding) in the engine's Serde shape, with their
// per-batch prepare step (registry lookups) that the runtime awaits before decoding a fetch.
import type { EventSerde } from '../schemas/serde/event-serde.js'
import type { Serde } from '../topology/index.js'

export function engineSerde<T>(serde: EventSerde<T>): Serde<T> {
  return {
    serialize: (_topic, value) => serde.serialize(value),
    deserialize: (_topic, bytes) => serde.deserialize(bytes),
    prepare: (_topic, values) => serde.prepare(values),
  }
}
