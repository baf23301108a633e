// EventIngest without a broker (the integration test has the real one): what it hands the producer
// (topic of the family, key as UTF-8, event time as timestamp, the serde's bytes), what it answers,
// that a bad body sends nothing and that Kafka errors come through untouched.
import type { Producer } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { EventIngest, EventValidationError } from '../../../api/ingest/event-ingest.js'
import { createEventSerdes, type EventSerdes, payloadOf, topicNames } from '../../../schemas/index.js'

interface Sent {
  topic: string
  key: Buffer
  value: Buffer
  timestamp: bigint
}

/** A producer that records what it is given and answers like the client (base offset per partition). */
function recordingProducer(fail?: Error) {
  const sent: Sent[] = []
  let closed = false
  const producer = {
    async send({ messages }: { messages: Sent[] }) {
      if (fail) throw fail
      sent.push(...messages)
      return { offsets: [{ topic: messages[0]?.topic, partition: 5, offset: 41n + BigInt(sent.length) }] }
    },
    async close() {
      closed = true
    },
  }
  return {
    producer: producer as unknown as Producer<Buffer, Buffer, Buffer, Buffer>,
    sent,
    closed: () => closed,
  }
}

const topics = topicNames({ agent_events: 'p.agents', task_events: 'p.tasks' })

async function serdes(forTopics = topics): Promise<EventSerdes> {
  return createEventSerdes({ encoding: 'single-object', topics: forTopics })
}

describe('EventIngest', () => {
  it('produces the encoded event to its family topic, keyed by the entity id, stamped with the event time', async () => {
    const { producer, sent } = recordingProducer()
    const encoder = await serdes()
    const ingest = new EventIngest({ producer, topics, encoder })
    const result = await ingest.ingest({
      type: 'TaskStarted',
      task_id: 'task-ü',
      team_id: 't-1',
      occurred_at: '2026-11-27T12:00:00Z',
      event_id: '0b6f7a8e-3f1c-4d2e-9a51-6c2d8e4b7f10',
    })
    expect(result).toEqual({
      type: 'TaskStarted',
      topic: 'p.tasks',
      partition: 5,
      offset: 42,
      event_id: '0b6f7a8e-3f1c-4d2e-9a51-6c2d8e4b7f10',
      key: 'task-ü',
    })
    expect(sent).toHaveLength(1)
    const [record] = sent as [Sent]
    expect(record.topic).toBe('p.tasks')
    expect(record.key).toEqual(Buffer.from('task-ü', 'utf8'))
    expect(record.timestamp).toBe(BigInt(Date.UTC(2026, 10, 27, 12)))
    expect(encoder.task_events.deserialize(record.value)).toEqual({
      event_id: '0b6f7a8e-3f1c-4d2e-9a51-6c2d8e4b7f10',
      occurred_at: Date.UTC(2026, 10, 27, 12),
      task_id: 'task-ü',
      payload: { 'agent_party.events.TaskStarted': { team_id: 't-1' } },
    })
  })

  it('sends nothing for an invalid body and throws EventValidationError with every problem', async () => {
    const { producer, sent } = recordingProducer()
    const ingest = new EventIngest({ producer, topics, encoder: await serdes() })
    const error = await ingest.ingest({ type: 'TaskStarted', task_id: 'k', team: 't' }).catch((e) => e)
    expect(error).toBeInstanceOf(EventValidationError)
    expect(error.details).toEqual([
      { field: 'team_id', message: 'required' },
      { field: 'team', message: 'unknown field' },
    ])
    expect(sent).toEqual([])
  })

  it("refuses an event time Kafka would refuse (past the broker's 1 h) or delete at once (older than the retention)", async () => {
    const { producer, sent } = recordingProducer()
    const now = Date.parse('2026-11-27T12:00:00Z')
    const ingest = new EventIngest({
      producer,
      topics,
      encoder: await serdes(),
      retentionMs: { task_events: 7 * 24 * 3_600_000 },
      now: () => now,
    })
    const at = (occurred_at: number) => ({ type: 'TaskStarted', task_id: 'k', team_id: 't', occurred_at })
    for (const [time, message] of [
      [now + 61 * 60_000, /60 minutes in the future/],
      [now - 7 * 24 * 3_600_000 - 1, /older than the retention of p\.tasks \(168 h\)/],
    ] as const) {
      const error = await ingest.ingest(at(time)).catch((e) => e)
      expect(error).toBeInstanceOf(EventValidationError)
      expect(error.details).toEqual([{ field: 'occurred_at', message: expect.stringMatching(message) }])
    }
    expect(sent).toEqual([])
    await ingest.ingest(at(now + 59 * 60_000))
    await ingest.ingest(at(now - 7 * 24 * 3_600_000 + 1000))
    expect(sent).toHaveLength(2)
  })

  it('sends concurrent events together and answers each with its own partition and offset', async () => {
    type Placed = Sent & { partition: number }
    const requests: Placed[][] = []
    const base = new Map<number, bigint>()
    const producer = {
      async send({ messages }: { messages: Placed[] }) {
        requests.push(messages)
        // As the broker answers: one base offset per partition, its records appended in order.
        const offsets = [...new Set(messages.map((m) => m.partition))].map((partition) => {
          const first = base.get(partition) ?? 100n
          base.set(partition, first + BigInt(messages.filter((m) => m.partition === partition).length))
          return { topic: 'p.tasks', partition, offset: first }
        })
        await new Promise((r) => setTimeout(r, 5))
        return { offsets }
      },
      async close() {},
    } as unknown as Producer<Buffer, Buffer, Buffer, Buffer>
    const ingest = new EventIngest({
      producer,
      topics,
      encoder: await serdes(),
      partitions: { task_events: 8 },
    })
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        ingest.ingest({
          type: 'TaskStarted',
          task_id: `task-${i % 7}`,
          team_id: 't',
          occurred_at: Date.now(),
        }),
      ),
    )
    // The first event goes alone; the other 39 arrive while it is in flight and go in one request.
    expect(requests.map((r) => r.length)).toEqual([1, 39])
    const sent = requests.flat()
    for (const [i, result] of results.entries()) {
      const record = sent[i] as Placed
      expect(result.partition).toBe(record.partition)
      expect(record.key.toString()).toBe(`task-${i % 7}`)
      // Its offset: the partition's base in its request plus the records of that partition before it.
      const request = requests.find((r) => r.includes(record)) as Placed[]
      const before = request.slice(0, request.indexOf(record)).filter((m) => m.partition === record.partition)
      const earlier = requests
        .slice(0, requests.indexOf(request))
        .flat()
        .filter((m) => m.partition === record.partition).length
      expect(result.offset).toBe(100 + earlier + before.length)
    }
    // Same key, same partition, offsets in the order the events came.
    const ofTask0 = results.filter((_, i) => i % 7 === 0)
    expect(new Set(ofTask0.map((r) => r.partition)).size).toBe(1)
    expect(ofTask0.map((r) => r.offset)).toEqual([...ofTask0.map((r) => r.offset)].sort((a, b) => a - b))
  })

  it('lets a Kafka error through as it is', async () => {
    const kafkaError = Object.assign(new Error('Producing messages failed.'), { code: 'PLT_KFK_MULTIPLE' })
    const { producer } = recordingProducer(kafkaError)
    const ingest = new EventIngest({ producer, topics, encoder: await serdes() })
    await expect(
      ingest.ingest({ type: 'ComponentHealth', component: 'c', level: 'HEALTHY', message: 'ok' }),
    ).rejects.toBe(kafkaError)
  })

  it('creates an agent with a new UUID agent_id from the AgentCreated fields', async () => {
    const { producer, sent } = recordingProducer()
    const encoder = await serdes()
    const ingest = new EventIngest({ producer, topics, encoder })
    const fields = { template_id: 'tmpl', version: 1, name: 'n', capabilities: [] }
    const first = await ingest.createAgent(fields)
    const second = await ingest.createAgent(fields)
    expect(first.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(second.key).not.toBe(first.key)
    expect(first).toMatchObject({ type: 'AgentCreated', topic: 'p.agents' })
    const event = encoder.agent_events.deserialize((sent[0] as Sent).value)
    expect(event.agent_id).toBe(first.key)
    expect(event.event_id).toBe(first.event_id)
    expect(payloadOf(event.payload)).toEqual({ ...fields, model: null })
    await expect(ingest.createAgent({ ...fields, agent_id: 'mine' })).rejects.toThrow(
      /agent_id: unknown field/,
    )
  })

  it('refuses serdes built for other topics (a registry subject follows its topic)', async () => {
    const { producer } = recordingProducer()
    const encoder = await serdes(topicNames())
    expect(() => new EventIngest({ producer, topics, encoder })).toThrow(
      /agent_events encoder writes for topic agent_events, not p\.agents/,
    )
  })

  it('closes its producer', async () => {
    const { producer, closed } = recordingProducer()
    const ingest = new EventIngest({ producer, topics, encoder: await serdes() })
    await ingest.close()
    expect(closed()).toBe(true)
  })
})
