// One test file's own event topics and registry subjects: `<prefix>-<family>` for each family, so
// files run in parallel against the shared broker and registry and never see each other's data.
import type { Config } from '../../../config/config.js'
import { EVENT_FAMILIES, type EventFamily, RegistryClient, valueSubject } from '../../../schemas/index.js'
import { createTestTopics, deleteTestTopics } from '../../support/kafka.js'

export function prefixedFamilies(config: Config, prefix: string) {
  const topics = Object.fromEntries(EVENT_FAMILIES.map((f) => [f, `${prefix}-${f}`])) as Record<
    EventFamily,
    string
  >
  const client = new RegistryClient({ url: config.schemaRegistry.url })
  return {
    topics,
    client,
    familyOf: new Map(EVENT_FAMILIES.map((f) => [topics[f], f])),
    createTopics: (partitions: number) => createTestTopics(config, Object.values(topics), partitions),
    /** Deletes the topics and the subjects (permanently). */
    cleanUp: async () => {
      await deleteTestTopics(config, Object.values(topics))
      for (const family of EVENT_FAMILIES) await client.deleteSubject(valueSubject(topics[family]), true)
    },
  }
}
