// The two questions the registry serde asks a registry, behind an interface so that unit tests run
// with an in-memory id table (memory-schema-lookup.ts) and everything else with the real registry.
import { SchemaError } from '../errors.js'
import type { RegistryClient } from './registry-client.js'

export interface SchemaLookup {
  /**
   * The id of `schema` (Avro JSON text) under `subject`. With `register` it is registered when
   * missing (the registry's compatibility check applies: SCHEMA_INCOMPATIBLE); without, a missing
   * schema is SCHEMA_NOT_REGISTERED.
   */
  writerId(subject: string, schema: string, options: { register: boolean }): Promise<number>
  /** The schema text of an id; rejects with UNKNOWN_SCHEMA_ID when the registry has none. */
  schemaById(id: number): Promise<string>
}

export function registrySchemaLookup(client: RegistryClient): SchemaLookup {
  return {
    async writerId(subject, schema, { register }) {
      if (register) return client.register(subject, schema)
      const found = await client.lookup(subject, schema)
      if (found) return found.id
      throw new SchemaError(
        'SCHEMA_NOT_REGISTERED',
        `the current schema is not registered under ${subject}: run \`agent-party provision\` first (it registers the event and output schemas)`,
        { subject },
      )
    },
    schemaById: (id) => client.schemaById(id),
  }
}
