// An in-memory stand-in for the registry: one global id per distinct schema text, as Confluent assigns
// them, and the subjects each was registered under. For unit tests and benchmarks only; integration
// tests use the real registry.
import { SchemaError } from '../errors.js'
import type { SchemaLookup } from './schema-lookup.js'

export class MemorySchemaLookup implements SchemaLookup {
  readonly #idsBySchema = new Map<string, number>()
  readonly #schemasById = new Map<number, string>()
  readonly #subjects = new Map<string, Set<number>>()
  #nextId: number

  constructor(firstId = 1) {
    this.#nextId = firstId
  }

  register(subject: string, schema: string): number {
    let id = this.#idsBySchema.get(schema)
    if (id === undefined) {
      id = this.#nextId++
      this.#idsBySchema.set(schema, id)
      this.#schemasById.set(id, schema)
    }
    const ids = this.#subjects.get(subject) ?? new Set<number>()
    this.#subjects.set(subject, ids.add(id))
    return id
  }

  async writerId(subject: string, schema: string, options: { register: boolean }): Promise<number> {
    if (options.register) return this.register(subject, schema)
    const id = this.#idsBySchema.get(schema)
    if (id === undefined || !this.#subjects.get(subject)?.has(id)) {
      throw new SchemaError('SCHEMA_NOT_REGISTERED', `the schema is not registered under ${subject}`, {
        subject,
      })
    }
    return id
  }

  async schemaById(id: number): Promise<string> {
    const schema = this.#schemasById.get(id)
    if (schema === undefined) {
      throw new SchemaError('UNKNOWN_SCHEMA_ID', `no schema with id ${id}`, { schemaId: id })
    }
    return schema
  }
}
