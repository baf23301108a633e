// Name rules and generated names. Generated names follow Kafka Streams (`KSTREAM-FILTER-0000000001`):
// one counter per builder, in DSL call order, so the same program always yields the same names.
import { TopologyError } from '../../errors.js'

// Names end up in topic names (`<applicationId>-<name>-changelog`), so they use Kafka's topic alphabet.
const LEGAL = /^[a-zA-Z0-9._-]+$/
const MAX_LENGTH = 200

export function validateName(name: string, what: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_LENGTH || !LEGAL.test(name)) {
    throw new TopologyError(
      'INVALID_ARGUMENT',
      `${what} name ${JSON.stringify(name)} is not valid: use 1 to ${MAX_LENGTH} characters of [a-zA-Z0-9._-]`,
      { subject: String(name) },
    )
  }
  return name
}

export function generatedName(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(10, '0')}`
}

export function repartitionTopicName(applicationId: string, name: string): string {
  return `${applicationId}-${name}`
}

export function changelogTopicName(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`
}

/** The topic a logged store writes its changes to: the one it was given, else its internal changelog. */
export function storeChangelogTopic(
  applicationId: string,
  store: { readonly name: string; readonly changelogTopic?: string | undefined },
): string {
  return store.changelogTopic ?? changelogTopicName(applicationId, store.name)
}
