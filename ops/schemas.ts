// `agent-party schemas register|check`: the project's Avro schemas in the Schema Registry, one subject
// `<topic>-value` per event topic and output topic (topic names from PROCESSOR_CONFIG). Registration is
// provisioning's (history versions first, BACKWARD_TRANSITIVE); the check says, per subject, whether the
// local schema is the registered latest and, when it is not, whether the registry would accept it next
// under the subject's compatibility level (the registry's own compatibility endpoint decides).
import type { Config } from '../config/config.js'
import { loadProcessorConfig } from '../processors/config.js'
import { outputSubjects } from '../processors/outputs.js'
import {
  type CompatibilityLevel,
  EVENT_FAMILIES,
  type FamilySchemas,
  RegistryClient,
  registerSchemas,
  type SchemaName,
  schemaCatalog,
  valueSubject,
} from '../schemas/index.js'

/** Some subject is missing or holds another latest schema than the local one. */
export class SchemaMismatchError extends Error {
  readonly code = 'SCHEMA_MISMATCH'
  constructor(readonly subjects: readonly SubjectCheck[]) {
    const bad = subjects.filter((s) => s.status !== 'ok')
    super(
      `${bad.length} of ${subjects.length} registry subject(s) differ from the local schemas: ` +
        `${bad.map((s) => `${s.subject} (${s.status})`).join(', ')}. ` +
        'agent-party schemas register registers the local schemas where the registry accepts them.',
    )
    this.name = 'SchemaMismatchError'
  }
}

/** Each project subject with its local schemas: the event topics', then the output topics'. */
export function projectSubjects(config: Config): { schemas: FamilySchemas<SchemaName>; topic: string }[] {
  const processor = loadProcessorConfig(config.processor.configFile)
  const catalog = schemaCatalog()
  return [
    ...EVENT_FAMILIES.map((family) => ({
      schemas: catalog[family] as FamilySchemas<SchemaName>,
      topic: processor.inputTopics[family],
    })),
    ...outputSubjects(processor.outputTopics),
  ]
}

export interface SubjectRegistered {
  readonly subject: string
  /** The registry id and the subject's version of the local (current) schema. */
  readonly id: number
  readonly version: number
  /** Whether this run added versions to the subject. */
  readonly registeredNow: boolean
}

/** Registers every project schema (idempotent: a second run registers nothing). */
export async function registerProjectSchemas(config: Config): Promise<SubjectRegistered[]> {
  const client = new RegistryClient(config.schemaRegistry)
  const subjects = projectSubjects(config)
  const registrations = await registerSchemas(client, subjects)
  return Promise.all(
    subjects.map(async ({ schemas }, i) => {
      const registration = registrations[i]
      const subject = registration?.subject ?? ''
      const found = await client.lookup(subject, schemas.current.text)
      if (found === undefined)
        throw new Error(`${subject}: the registry does not find the schema just registered`)
      return {
        subject,
        id: found.id,
        version: found.version,
        registeredNow: registration?.ids.some((v) => v.registeredNow) ?? false,
      }
    }),
  )
}

export type SubjectStatus =
  /** The local schema is the subject's latest version. */
  | 'ok'
  /** The subject has no version. */
  | 'missing'
  /** The local schema is registered, but an other version is the latest. */
  | 'not-latest'
  /** The local schema is not registered under the subject. */
  | 'differs'

export interface SubjectCheck {
  readonly subject: string
  readonly status: SubjectStatus
  /** The subject's latest version and its id; null when the subject has none. */
  readonly latest: { readonly version: number; readonly id: number } | null
  /** The version the local schema has under the subject; null when it is not registered there. */
  readonly localVersion: number | null
  /** The level that applies: the subject's own, else the registry's default. */
  readonly compatibility: CompatibilityLevel | null
  /** Whether the registry would accept the local schema as the next version (true when missing). */
  readonly compatible: boolean
  /** Why the status is what it is, in words. */
  readonly reason: string
}

export async function checkProjectSchemas(config: Config): Promise<SubjectCheck[]> {
  const client = new RegistryClient(config.schemaRegistry)
  const global = await client.getGlobalCompatibility()
  return Promise.all(
    projectSubjects(config).map(async ({ schemas, topic }): Promise<SubjectCheck> => {
      const subject = valueSubject(topic)
      const local = schemas.current.text
      const [latest, found, own] = await Promise.all([
        client.latest(subject),
        client.lookup(subject, local),
        client.getCompatibility(subject),
      ])
      const compatibility = own ?? global ?? null
      const base = {
        subject,
        latest: latest ? { version: latest.version, id: latest.id } : null,
        localVersion: found?.version ?? null,
        compatibility,
      }
      if (latest === undefined)
        return { ...base, status: 'missing', compatible: true, reason: 'the subject has no version' }
      if (found !== undefined && found.version === latest.version)
        return { ...base, status: 'ok', compatible: true, reason: 'the local schema is the latest version' }
      const compatible = await client.isCompatible(subject, local)
      const next = compatible
        ? `the registry would accept it as the next version (${compatibility ?? 'default level'})`
        : `INCOMPATIBLE with the latest under ${compatibility ?? 'the default level'}: registering it would fail`
      return found !== undefined
        ? {
            ...base,
            status: 'not-latest',
            compatible,
            reason: `the local schema is version ${found.version}, the latest is version ${latest.version}; ${next}`,
          }
        : {
            ...base,
            status: 'differs',
            compatible,
            reason: `the local schema is not registered; ${next}`,
          }
    }),
  )
}
