// The serde factory the rest of the project calls: one serde per event family, in the configured
// encoding (the registry wire format by default, single-object encoding without a registry).
import type { Config } from '../../config/config.js'
import { SchemaError } from '../errors.js'
import { EVENT_FAMILIES, type EventFamily, topicNames } from '../event-families.js'
import type { EventsByFamily } from '../generated/types.js'
import { RegistryClient } from '../registry/registry-client.js'
import { registrySchemaLookup, type SchemaLookup } from '../registry/schema-lookup.js'
import { type SchemaCatalog, schemaCatalog } from '../schema-catalog.js'
import type { EventSerde, SchemaEncoding } from './event-serde.js'
import { createRegistrySerde } from './registry-serde.js'
import { createSingleObjectSerde } from './single-object-serde.js'

export interface EventSerdesOptions {
  /** 'registry' (default): Confluent wire format; 'single-object': no registry needed. */
  encoding?: SchemaEncoding
  /** Registry API base URL (config.schemaRegistry.url); ignored with `lookup`. */
  registryUrl?: string
  /** The registry's basic auth (SCHEMA_REGISTRY_USERNAME/PASSWORD), with `registryUrl`. */
  registryCredentials?: { readonly username?: string | undefined; readonly password?: string | undefined }
  /** How ids are found, instead of a client of `registryUrl` (unit tests: MemorySchemaLookup). */
  lookup?: SchemaLookup
  /** Register the current schemas when their subjects lack them (default off: provisioning does). */
  autoRegister?: boolean
  /** Topic names, when not the family names (tests prefix them); subjects follow the topics. */
  topics?: Partial<Record<EventFamily, string>>
  catalog?: SchemaCatalog
}

export type EventSerdes = { readonly [F in EventFamily]: EventSerde<EventsByFamily[F]> }

export async function createEventSerde<F extends EventFamily>(
  family: F,
  options: EventSerdesOptions = {},
): Promise<EventSerde<EventsByFamily[F]>> {
  const schemas = (options.catalog ?? schemaCatalog())[family]
  const topic = topicNames(options.topics)[family]
  if ((options.encoding ?? 'registry') === 'single-object')
    return createSingleObjectSerde({ family, topic, schemas })
  return createRegistrySerde({
    family,
    topic,
    schemas,
    lookup:
      options.lookup ??
      registrySchemaLookup(registryClient(options.registryUrl, options.registryCredentials)),
    autoRegister: options.autoRegister ?? false,
  })
}

export async function createEventSerdes(options: EventSerdesOptions = {}): Promise<EventSerdes> {
  // One client for the four serdes: they share its connection pool.
  const lookup =
    options.lookup ??
    ((options.encoding ?? 'registry') === 'registry'
      ? registrySchemaLookup(registryClient(options.registryUrl, options.registryCredentials))
      : undefined)
  const serdes = await Promise.all(
    EVENT_FAMILIES.map((family) => createEventSerde(family, { ...options, ...(lookup ? { lookup } : {}) })),
  )
  return Object.freeze(
    Object.fromEntries(EVENT_FAMILIES.map((family, i) => [family, serdes[i]])),
  ) as EventSerdes
}

/** The serdes of the configured encoding (SCHEMA_ENCODING) and registry. */
export function createEventSerdesFromConfig(
  config: Config,
  options: Omit<EventSerdesOptions, 'registryUrl'> = {},
): Promise<EventSerdes> {
  return createEventSerdes({
    encoding: config.schemas.encoding,
    ...options,
    registryUrl: config.schemaRegistry.url,
    registryCredentials: config.schemaRegistry,
  })
}

function registryClient(
  url: string | undefined,
  credentials: EventSerdesOptions['registryCredentials'] = {},
): RegistryClient {
  if (url === undefined) {
    throw new SchemaError(
      'REGISTRY_ERROR',
      "the 'registry' encoding needs registryUrl (config.schemaRegistry.url) or a lookup",
    )
  }
  return new RegistryClient({ url, username: credentials.username, password: credentials.password })
}
