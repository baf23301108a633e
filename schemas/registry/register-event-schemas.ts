// Provisioning of the registry (called by `agent-party provision`): per topic, sets the subject
// `<topic>-value` to BACKWARD_TRANSITIVE explicitly (Apicurio's default is NONE) and registers the
// published versions of schemas/avro/history that the subject does not have yet, oldest first, then
// the current schema. Idempotent; a version the registry finds incompatible fails with
// SCHEMA_INCOMPATIBLE and leaves the subject as it was.
import { SchemaError } from '../errors.js'
import { EVENT_FAMILIES, type EventFamily, topicNames, valueSubject } from '../event-families.js'
import {
  type FamilySchemas,
  type SchemaCatalog,
  type SchemaName,
  type SchemaVersion,
  schemaCatalog,
} from '../schema-catalog.js'
import type { CompatibilityLevel, RegistryClient } from './registry-client.js'

export interface RegisterEventSchemasOptions {
  topics?: Partial<Record<EventFamily, string>>
  families?: readonly EventFamily[]
  compatibility?: CompatibilityLevel
  catalog?: SchemaCatalog
}

export interface SubjectRegistration {
  family: SchemaName
  subject: string
  compatibility: CompatibilityLevel
  /** Registry id of each version, in history order; the last is the current schema's. */
  ids: { version: number | undefined; id: number; registeredNow: boolean }[]
}

export async function registerEventSchemas(
  client: RegistryClient,
  options: RegisterEventSchemasOptions = {},
): Promise<SubjectRegistration[]> {
  const catalog = options.catalog ?? schemaCatalog()
  const names = topicNames(options.topics)
  return registerSchemas(
    client,
    (options.families ?? EVENT_FAMILIES).map((family) => ({
      schemas: catalog[family],
      topic: names[family],
    })),
    options.compatibility,
  )
}

/**
 * The same for any schemas (the processors' outputs): each under `<topic>-value`, one subject after
 * the other.
 */
export async function registerSchemas(
  client: RegistryClient,
  subjects: readonly { schemas: FamilySchemas<SchemaName>; topic: string }[],
  compatibility: CompatibilityLevel = 'BACKWARD_TRANSITIVE',
): Promise<SubjectRegistration[]> {
  const results: SubjectRegistration[] = []
  for (const { schemas, topic } of subjects) {
    const subject = valueSubject(topic)
    const { history, current } = schemas
    const versions = history.some((h) => h.text === current.text) ? history : [...history, current]
    results.push({
      family: schemas.family,
      subject,
      compatibility,
      ids: await registerVersions(client, subject, versions, compatibility),
    })
  }
  return results
}

async function registerVersions(
  client: RegistryClient,
  subject: string,
  versions: SchemaVersion[],
  compatibility: CompatibilityLevel,
): Promise<SubjectRegistration['ids']> {
  const found = await Promise.all(versions.map((v) => client.lookup(subject, v.text)))
  // Only versions newer than the newest already there: registering an older one after it would
  // make it the subject's latest.
  const newestPresent = found.findLastIndex((f) => f !== undefined)
  let compatibilitySet = await trySetCompatibility(client, subject, compatibility)
  const ids: SubjectRegistration['ids'] = []
  for (const [i, version] of versions.entries()) {
    const present = found[i]
    if (present) {
      ids.push({ version: version.version, id: present.id, registeredNow: false })
      continue
    }
    if (i < newestPresent) continue
    const id = await client.register(subject, version.text)
    ids.push({ version: version.version, id, registeredNow: true })
    // Some registries (Apicurio) refuse a config for a subject that does not exist yet.
    if (!compatibilitySet) compatibilitySet = await trySetCompatibility(client, subject, compatibility)
  }
  if (!compatibilitySet) await client.setCompatibility(subject, compatibility)
  return ids
}

async function trySetCompatibility(
  client: RegistryClient,
  subject: string,
  compatibility: CompatibilityLevel,
): Promise<boolean> {
  try {
    await client.setCompatibility(subject, compatibility)
    return true
  } catch (error) {
    if (error instanceof SchemaError && error.code === 'REGISTRY_ERROR' && error.details.status === 404)
      return false
    throw error
  }
}
