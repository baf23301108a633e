// Reading the payload union of an envelope. avsc (like Avro's JSON encoding) wraps a union of records
// in an object with one key, the branch's full name; these helpers give the short type name and the
// record without knowing the branch beforehand, e.g. `switch (payloadName(e.payload))`.

/** Short name of the event type, e.g. 'AgentCreated' for { 'agent_party.events.AgentCreated': ... }. */
export function payloadName(payload: object): string {
  for (const name in payload) return name.slice(name.lastIndexOf('.') + 1)
  throw new TypeError('empty payload union')
}

/** The record inside the union, typed by its short name when known. */
export function payloadOf<T = unknown>(payload: object): T {
  for (const name in payload) return (payload as Record<string, T>)[name] as T
  throw new TypeError('empty payload union')
}
