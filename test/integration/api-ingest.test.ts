// Event ingest against the real broker and registry: generated events of every type, posted as JSON
// bodies, read back from this file's own event topics and decoded with the project's serdes, equal
// the generator's events; each sits at the partition and offset the ingest answered, with its entity
// id as key and its event time as timestamp. Keys land where the generator's own run puts them and
// where Java puts them; POST /agents makes an AgentCreated; invalid bodies write nothing.
import { compatibilityPartitioner, type MessageToProduce } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventIngest, EventValidationError, type IngestResult } from '../../api/ingest/event-ingest.js'
import { prefixedTopics, prepareProduceTargets } from '../../ops/produce.js'
import {
  createEventSerdes,
  EVENT_FAMILIES,
  type EventFamily,
  type GeneratedRecord,
  generateRecords,
  produceEvents,
  RegistryClient,
  valueSubject,
} from '../../schemas/index.js'
import { flatBody } from '../support/api-fixtures.js'
import { deleteTestTopics, type RawRecord, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { JAVA_PARTITIONS } from '../unit/schemas/fixtures/java-partitions.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const topics = prefixedTopics(`${prefix}.ingest.`)
const generatorTopics = prefixedTopics(`${prefix}.generator.`)
/** The event topics' partitions (deploy/kafka/topics.ts), which prepareProduceTargets creates. */
const PARTITIONS: Record<EventFamily, number> = {
  agent_events: 8,
  team_events: 8,
  task_events: 8,
  system_events: 4,
}
const generator = { seed: 'api-ingest', count: 2000, baseTime: Date.now() - 120_000 }

const position = (r: { topic: string; partition: number; offset: number | bigint }) =>
  `${r.topic}/${r.partition}/${r.offset}`

let ingest: EventIngest
const generated: { record: GeneratedRecord; result: IngestResult }[] = []
const javaKeys: { key: string; partition8: number; agent: IngestResult; component: IngestResult }[] = []
let agents: IngestResult[] = []
let invalid: unknown[] = []
let read: RawRecord[] = []
const family = new Map(EVENT_FAMILIES.map((f) => [topics[f], f]))

beforeAll(async () => {
  const oldestEventTime = generator.baseTime - 60_000
  await prepareProduceTargets(config, { topics, oldestEventTime, createTopics: true })
  await prepareProduceTargets(config, { topics: generatorTopics, oldestEventTime, createTopics: true })
  ingest = await EventIngest.create(config, { topics })

  const records = [...generateRecords(generator)]
  // Concurrent posts, as an HTTP server makes them; the answer says where each went.
  for (let i = 0; i < records.length; i += 100) {
    const chunk = records.slice(i, i + 100)
    const results = await Promise.all(
      chunk.map((r, j) =>
        ingest.ingest(
          flatBody(r.event as { payload: object; occurred_at: number }, (i + j) % 2 ? 'iso' : 'ms'),
        ),
      ),
    )
    for (const [j, record] of chunk.entries()) generated.push({ record, result: results[j] as IngestResult })
  }
  for (const [key, , , partition8] of JAVA_PARTITIONS) {
    const agent = await ingest.ingest({
      type: 'AgentStatusChanged',
      agent_id: key,
      previous_status: 'IDLE',
      status: 'BUSY',
    })
    const component = await ingest.ingest({
      type: 'ComponentHealth',
      component: key,
      level: 'HEALTHY',
      message: 'ok',
    })
    javaKeys.push({ key, partition8, agent, component })
  }
  agents = await Promise.all(
    ['reviewer', 'planner'].map((name) =>
      ingest.createAgent({
        template_id: 'tmpl-1',
        version: 4,
        name,
        capabilities: [{ name: 'code-review', category: 'coding' }],
        model: 'llm-large-2',
      }),
    ),
  )
  invalid = await Promise.all(
    [
      { type: 'AgentCreated', agent_id: 'bad-1', version: 'x' },
      { type: 'NoSuchEvent', agent_id: 'bad-2' },
      { type: 'TaskStarted', task_id: 'bad-3', team_id: 't', occurred_at: 'noon' },
    ].map((body) => ingest.ingest(body).catch((e) => e)),
  )
  invalid.push(await ingest.createAgent({ name: 'no template' }).catch((e) => e))

  await produceEvents({ ...generator, topics: generatorTopics, target: { kind: 'kafka', config } })

  const expected = generated.length + javaKeys.length * 2 + agents.length
  read = await readTopicRaw(config, Object.values(topics), {
    expected,
    isolation: 'read_committed',
    timeoutMs: 60_000,
  })
}, 180_000)

afterAll(async () => {
  await ingest?.close()
  await deleteTestTopics(config, [...Object.values(topics), ...Object.values(generatorTopics)])
  const client = new RegistryClient({ url: config.schemaRegistry.url })
  for (const f of EVENT_FAMILIES) {
    await client.deleteSubject(valueSubject(topics[f]), true)
    await client.deleteSubject(valueSubject(generatorTopics[f]), true)
  }
})

describe('EventIngest against the broker and the registry', () => {
  it('writes each accepted event once, and nothing for invalid ones', () => {
    expect(invalid).toHaveLength(4)
    for (const error of invalid) expect(error).toBeInstanceOf(EventValidationError)
    expect(read).toHaveLength(generated.length + javaKeys.length * 2 + agents.length)
    expect(new Set(read.map(position)).size).toBe(read.length)
    expect(read.some((r) => r.key?.toString().startsWith('bad-'))).toBe(false)
  })

  it('writes generated events of every type that decode, with the registry serdes, to the events generated', async () => {
    const serdes = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    const byPosition = new Map(read.map((r) => [position(r), r]))
    const types = new Set<string>()
    for (const { record, result } of generated) {
      const raw = byPosition.get(position(result))
      if (raw?.value === undefined) throw new Error(`nothing at ${position(result)}`)
      expect(result.topic).toBe(topics[record.family])
      expect(raw.key?.toString('utf8')).toBe(record.key)
      expect(result.key).toBe(record.key)
      const serde = serdes[record.family]
      await serde.prepare([raw.value])
      const event = serde.deserialize(raw.value, raw)
      expect(event).toEqual(record.event)
      expect(raw.timestamp).toBe(BigInt(record.timestamp))
      expect(result.event_id).toBe(event.event_id)
      types.add(result.type)
    }
    expect(types.size).toBe(19)
  })

  it("puts every key on the partition the generator's own run puts it on", async () => {
    const generatorRead = await readTopicRaw(config, Object.values(generatorTopics), {
      expected: generator.count,
      isolation: 'read_committed',
    })
    expect(generatorRead).toHaveLength(generator.count)
    const generatorPartition = new Map(
      generatorRead.map((r) => [
        `${r.topic.slice(`${prefix}.generator.`.length)}/${r.key?.toString()}`,
        r.partition,
      ]),
    )
    for (const { record, result } of generated) {
      expect(result.partition, record.key).toBe(generatorPartition.get(`${record.family}/${record.key}`))
      const hash = compatibilityPartitioner(
        { topic: '' } as MessageToProduce,
        Buffer.from(record.key, 'utf8'),
      )
      expect(result.partition).toBe(hash % PARTITIONS[record.family])
    }
  })

  it('puts the keys of the Java table where the Java client puts them (8 and 4 partitions)', () => {
    const byPosition = new Map(read.map((r) => [position(r), r]))
    for (const { key, partition8, agent, component } of javaKeys) {
      expect(agent.partition, key).toBe(partition8)
      // murmur2 modulo 4 is murmur2 modulo 8, modulo 4.
      expect(component.partition, key).toBe(partition8 % 4)
      expect(byPosition.get(position(agent))?.key?.toString()).toBe(key)
      expect(byPosition.get(position(component))?.key?.toString()).toBe(key)
    }
  })

  it('creates agents with new ids as AgentCreated events', async () => {
    const serdes = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    expect(new Set(agents.map((a) => a.key)).size).toBe(2)
    for (const [i, agent] of agents.entries()) {
      const raw = read.find((r) => position(r) === position(agent))
      if (raw?.value === undefined) throw new Error(`nothing at ${position(agent)}`)
      expect(family.get(raw.topic)).toBe('agent_events')
      const event = await serdes.agent_events.deserializeAsync(raw.value)
      expect(event).toEqual({
        event_id: agent.event_id,
        occurred_at: Number(raw.timestamp),
        agent_id: agent.key,
        payload: {
          'agent_party.events.AgentCreated': {
            template_id: 'tmpl-1',
            version: 4,
            name: ['reviewer', 'planner'][i],
            capabilities: [{ name: 'code-review', category: 'coding' }],
            model: 'llm-large-2',
          },
        },
      })
    }
  })
})
