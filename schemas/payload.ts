// Reading the payload union of an envelope. avsc (like Avro's JSON encoding) wraps a union of records
// in an object with one key, the branch's full name; these helpers give the short type name and the
// record without knowing the branch beforehand, e.g. `switch (payloadName(e.payload))`.

/** Short names by full name: a topology asks for every event's several times (a slice allocates). */
const shortNames = new Map<string, string>()

/** Short name of the event type, e.g. 'AgentCreated' for { 'agent_party.events.AgentCreated': ... }. */
export function payloadName(payload: object): string {
  for (const name in payload) {
    let short = shortNames.get(name)
    if (short === undefined) {
      short = name.slice(name.lastIndexOf('.') + 1)
      // Bounded by the schemas' branch names, unless payloads come from elsewhere: then do not keep them.
      if (shortNames.size < 1024) shortNames.set(name, short)
    }
    return short
  }
  throw new TypeError('empty payload union')
}

/** The record inside the union, typed by its short name when known. */
export function payloadOf<T = unknown>(payload: object): T {
  for (const name in payload) return (payload as Record<string, T>)[name] as T
  throw new TypeError('empty payload union')
}
