// Loads the Avro schemas of schemas/avro: per family the current schema (the reader, and the writer
// of new records) and every published version kept in schemas/avro/history (the writers a reader
// must still resolve), each parsed once by avsc with its Parsing Canonical Form and fingerprint.
// Every Avro type of the project comes from `parseSchemaText` (writers fetched from the registry too),
// built by bounded-avro-types.ts so that corrupt array and map counts fail fast.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Schema, Type } from 'avsc'
import { avroType } from './bounded-avro-types.js'
import { SchemaError } from './errors.js'
import { EVENT_FAMILIES, type EventFamily, eventFamilies } from './event-families.js'
import { fingerprintHex, rabinFingerprint64 } from './rabin-fingerprint.js'

/**
 * What a schema is the schema of: an event family, or an output of the processors (`outputs/<name>`,
 * from schemas/avro/outputs/<name>.avsc).
 */
export type SchemaName = EventFamily | OutputSchemaName

export type OutputSchemaName = `outputs/${string}`

export interface SchemaVersion {
  family: SchemaName
  /** 1, 2, ... for files of history/, undefined for the current file when history does not hold it. */
  version: number | undefined
  file: string
  /** The schema as JSON, whitespace removed: the text registered with the registry. */
  text: string
  json: unknown
  type: Type
  /** Parsing Canonical Form (avsc's `schema()` is exactly that). */
  canonical: string
  fingerprint: bigint
  fingerprintHex: string
}

export interface FamilySchemas<N extends SchemaName = EventFamily> {
  family: N
  current: SchemaVersion
  /** Published versions, oldest first, from history/. */
  history: SchemaVersion[]
}

export type SchemaCatalog = Readonly<Record<EventFamily, FamilySchemas>>

/**
 * Where the .avsc files are: beside this module when run from source, at the package root's
 * schemas/avro when run from dist/ (package.json ships both).
 */
export function defaultSchemaDir(): string {
  const candidates = [new URL('./avro/', import.meta.url), new URL('../../schemas/avro/', import.meta.url)]
  for (const candidate of candidates) {
    const dir = fileURLToPath(candidate)
    if (existsSync(dir)) return dir
  }
  return fileURLToPath(candidates[0] as URL)
}

export function parseSchemaText(
  family: SchemaName,
  file: string,
  text: string,
  version?: number,
): SchemaVersion {
  let json: unknown
  let type: Type
  try {
    json = JSON.parse(text)
    type = avroType(json as Schema)
  } catch (cause) {
    throw new SchemaError('SCHEMA_FILE_INVALID', `${file}: ${(cause as Error).message}`, { cause })
  }
  const canonical = JSON.stringify(type.schema())
  const fingerprint = rabinFingerprint64(Buffer.from(canonical, 'utf8'))
  return {
    family,
    version,
    file,
    text: JSON.stringify(json),
    json,
    type,
    canonical,
    fingerprint,
    fingerprintHex: fingerprintHex(fingerprint),
  }
}

function readSchemaFile(family: SchemaName, file: string, version?: number): SchemaVersion {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new SchemaError('SCHEMA_FILE_INVALID', `${file} cannot be read: ${(cause as Error).message}`, {
      cause,
    })
  }
  return parseSchemaText(family, file, text, version)
}

/** Files named `<schemaFile>.v<N>.avsc` in history/, by N. */
function historyOf(dir: string, family: SchemaName, schemaFile: string): SchemaVersion[] {
  const historyDir = join(dir, 'history')
  if (!existsSync(historyDir)) return []
  const pattern = new RegExp(`^${schemaFile}\\.v(\\d+)\\.avsc$`)
  return readdirSync(historyDir)
    .flatMap((name) => {
      const match = pattern.exec(name)
      return match ? [{ name, version: Number(match[1]) }] : []
    })
    .sort((a, b) => a.version - b.version)
    .map(({ name, version }) => readSchemaFile(family, join(historyDir, name), version))
}

/** A schema's current file `<dir>/<schemaFile>.avsc` and its published versions in `<dir>/history`. */
function loadSchemas<N extends SchemaName>(dir: string, family: N, schemaFile: string): FamilySchemas<N> {
  const history = historyOf(dir, family, schemaFile)
  const current = readSchemaFile(family, join(dir, `${schemaFile}.avsc`))
  const recorded = history.find((h) => h.text === current.text)
  return { family, current: recorded ? { ...current, version: recorded.version } : current, history }
}

export function loadSchemaCatalog(dir: string = defaultSchemaDir()): SchemaCatalog {
  const entries = EVENT_FAMILIES.map((family): [EventFamily, FamilySchemas] => [
    family,
    loadSchemas(dir, family, eventFamilies[family].schemaFile),
  ])
  return Object.freeze(Object.fromEntries(entries) as Record<EventFamily, FamilySchemas>)
}

/**
 * The processors' output schemas: every `<dir>/outputs/<name>.avsc`, named `outputs/<name>`, with
 * their published versions in `<dir>/outputs/history/<name>.v<N>.avsc`.
 */
export function loadOutputSchemas(
  dir: string = defaultSchemaDir(),
): ReadonlyMap<OutputSchemaName, FamilySchemas<OutputSchemaName>> {
  const outputs = join(dir, 'outputs')
  const names = existsSync(outputs)
    ? readdirSync(outputs)
        .filter((f) => f.endsWith('.avsc'))
        .map((f) => f.slice(0, -'.avsc'.length))
        .sort()
    : []
  return new Map(
    names.map((name): [OutputSchemaName, FamilySchemas<OutputSchemaName>] => [
      `outputs/${name}`,
      loadSchemas(outputs, `outputs/${name}`, name),
    ]),
  )
}

let defaultOutputSchemas: ReadonlyMap<OutputSchemaName, FamilySchemas<OutputSchemaName>> | undefined

/** The shipped output schemas, loaded once per process. */
export function outputSchemas(): ReadonlyMap<OutputSchemaName, FamilySchemas<OutputSchemaName>> {
  defaultOutputSchemas ??= loadOutputSchemas()
  return defaultOutputSchemas
}

/** One output schema by name (`outputs/agents`); SCHEMA_FILE_INVALID when it is not shipped. */
export function outputSchema(name: OutputSchemaName): FamilySchemas<OutputSchemaName> {
  const schemas = outputSchemas().get(name)
  if (schemas === undefined) {
    throw new SchemaError(
      'SCHEMA_FILE_INVALID',
      `no output schema ${name}: expected ${join(defaultSchemaDir(), `${name}.avsc`)}`,
    )
  }
  return schemas
}

let defaultCatalog: SchemaCatalog | undefined

/** The catalog of the shipped schemas, loaded once per process. */
export function schemaCatalog(): SchemaCatalog {
  defaultCatalog ??= loadSchemaCatalog()
  return defaultCatalog
}

/** Every writer version a reader of the family must know: the history, and the current schema. */
export function knownWriters(schemas: FamilySchemas<SchemaName>): SchemaVersion[] {
  const byFingerprint = new Map<bigint, SchemaVersion>()
  for (const version of [...schemas.history, schemas.current]) byFingerprint.set(version.fingerprint, version)
  return [...byFingerprint.values()]
}
