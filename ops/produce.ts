// `agent-party produce` against Kafka, with the checks a generator run needs there: the target topics
// exist (or are created as fixture topics that keep their records forever), and no event is older
// than a target topic's retention: Kafka deletes records by their timestamps, so a fixture with an
// old base time written to a 7-day topic would silently vanish within minutes.
import type { Config } from '../config/config.js'
import { EVENT_TOPICS } from '../deploy/kafka/topics.js'
import { createAdmin } from '../kafka/clients.js'
import { describeTopics, ensureTopics } from '../kafka/topics.js'
import { EVENT_FAMILIES, type EventFamily, RegistryClient, registerEventSchemas } from '../schemas/index.js'

export class ProduceTargetError extends Error {
  readonly code = 'PRODUCE_TARGET'
  constructor(message: string) {
    super(message)
    this.name = 'ProduceTargetError'
  }
}

/** The event topics with a prefix: `bench.` gives `bench.agent_events`, ... */
export function prefixedTopics(prefix: string): Record<EventFamily, string> {
  return Object.fromEntries(EVENT_FAMILIES.map((f) => [f, `${prefix}${f}`])) as Record<EventFamily, string>
}

export interface PrepareTargetsOptions {
  topics: Record<EventFamily, string>
  /** Event time of the oldest event to be written. */
  oldestEventTime: number
  /**
   * Create missing topics as fixture topics (event topics' partitions, retention.ms=-1) and, with the
   * registry encoding, register the event schemas under their subjects.
   */
  createTopics?: boolean
  encoding?: Config['schemas']['encoding']
  now?: number
}

export async function prepareProduceTargets(config: Config, options: PrepareTargetsOptions): Promise<void> {
  const admin = createAdmin(config.kafka, 'produce')
  try {
    const names = Object.values(options.topics)
    const present = new Set(await admin.listTopics())
    const missing = names.filter((t) => !present.has(t))
    if (missing.length > 0) {
      if (!options.createTopics) {
        throw new ProduceTargetError(
          `Topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist. ` +
            'Run `agent-party provision` for the event topics, or add --create-topics to create fixture topics ' +
            '(same partitions, retention.ms=-1).',
        )
      }
      const specs = EVENT_FAMILIES.map((family) => ({
        name: options.topics[family],
        partitions: EVENT_TOPICS.find((t) => t.name === family)?.partitions ?? 1,
        configs: { 'retention.ms': '-1' },
      })).filter((s) => missing.includes(s.name))
      await ensureTopics(admin, specs, config.kafka.replicationFactor)
      if ((options.encoding ?? config.schemas.encoding) === 'registry') {
        await registerEventSchemas(new RegistryClient(config.schemaRegistry), {
          topics: options.topics,
        })
      }
    }
    const now = options.now ?? Date.now()
    const tooShort = (await describeTopics(admin, names)).filter((d) => {
      const retention = Number(d.configs['retention.ms'] ?? '-1')
      return retention >= 0 && options.oldestEventTime < now - retention
    })
    if (tooShort.length > 0) {
      const list = tooShort.map((d) => `${d.name} (retention.ms=${d.configs['retention.ms']})`).join(', ')
      throw new ProduceTargetError(
        `Events from ${new Date(options.oldestEventTime).toISOString()} are older than the retention of ${list}: ` +
          'Kafka deletes records by their timestamps, so they would vanish within minutes. Use a recent ' +
          '--base-time, or write to fixture topics that keep everything: --topic-prefix <p> --create-topics.',
      )
    }
  } finally {
    await admin.close()
  }
}
