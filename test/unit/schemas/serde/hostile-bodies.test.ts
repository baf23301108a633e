// Corrupt or crafted bodies whose array or map counts cannot fit the bytes left must fail at once with
// a typed DecodeError, whatever the path: read directly, through a resolver (another writer version)
// or skipped by a resolver (a field the reader drops), in both encodings. The counts are so large
// that the loop avsc would otherwise run never ends. The decodes run in a worker thread (in-worker.ts):
// vitest cannot time out a synchronous loop on its own thread, so a regression would hang the whole
// run; this way vitest's test timeout fails the test, and the stuck worker is terminated.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { EventFamily, SchemaEncoding } from '../../../../schemas/index.js'
import { schemaCatalog } from '../../../../schemas/index.js'
import type { SchemaVersion } from '../../../../schemas/schema-catalog.js'
import { bytes, type CraftedDecode, type Outcome, zigzag } from '../fixtures/hostile-bodies.js'
import { inWorker, stopWorker, stopWorkerIfBusy } from '../fixtures/in-worker.js'
import { schemaJson, version } from '../fixtures/schema-variants.js'

type Json = Record<string, unknown> & { fields: Json[] }

/** The family's current schema with fields appended to one payload record. */
function withFields(family: EventFamily, file: string, record: string, fields: object[]): SchemaVersion {
  const json = structuredClone(schemaJson(file)) as unknown as Json
  const union = json.fields.find((f) => f.name === 'payload')?.type as Json[]
  const target = union.find((r) => r.name === record) as Json
  target.fields.push(...(fields as Json[]))
  return version(family, json, 99)
}

const catalog = schemaCatalog()
const agent = catalog.agent_events.current
const agentV1 = catalog.agent_events.history[0] as SchemaVersion
const task = catalog.task_events.current
const taskWithNote = withFields('task_events', 'task-events.avsc', 'TaskCompleted', [
  { name: 'note', type: ['null', 'string'], default: null, doc: 'test field' },
])
const agentWithPastCapabilities = withFields('agent_events', 'agent-events.avsc', 'AgentCreated', [
  {
    name: 'past_capabilities',
    type: { type: 'array', items: 'agent_party.events.Capability' },
    default: [],
    doc: 'test field',
  },
])
const taskWithBudgets = withFields('task_events', 'task-events.avsc', 'TaskCompleted', [
  { name: 'budgets', type: { type: 'map', values: 'long' }, default: {}, doc: 'test field' },
])

// Envelope prefixes, every string empty and every number 0, up to the collection's count.
/** agent_events: ids, AgentCreated (branch 0), template_id, version, name, then `capabilities`. */
const CAPABILITIES = bytes(0, 0, 0, 0, 0, 0, 0)
/** ... then an empty `capabilities`, `model` null, then `past_capabilities` (dropped by the reader). */
const PAST_CAPABILITIES = bytes(CAPABILITIES, 0, 0)
/** task_events: ids, TaskCompleted (branch 3, zigzag 6), then `tokens_used`. */
const TOKENS_USED = bytes(0, 0, 0, 6)
/** ... then an empty `tokens_used`, `duration_ms` 0, then `budgets` (dropped by the reader). */
const BUDGETS = bytes(TOKENS_USED, 0, 0)

interface Case {
  name: string
  family: EventFamily
  reader: SchemaVersion
  writer: SchemaVersion
  prefix: Buffer
}

const CASES: Case[] = [
  {
    name: 'array of records, read',
    family: 'agent_events',
    reader: agent,
    writer: agent,
    prefix: CAPABILITIES,
  },
  {
    name: 'array of records, through a resolver (v1 writer, v2 reader)',
    family: 'agent_events',
    reader: agent,
    writer: agentV1,
    prefix: CAPABILITIES,
  },
  {
    name: 'array of records, skipped by a resolver (a field the reader drops)',
    family: 'agent_events',
    reader: agent,
    writer: agentWithPastCapabilities,
    prefix: PAST_CAPABILITIES,
  },
  { name: 'map, read', family: 'task_events', reader: task, writer: task, prefix: TOKENS_USED },
  {
    name: 'map, through a resolver (v1 writer, reader with a new field)',
    family: 'task_events',
    reader: taskWithNote,
    writer: task,
    prefix: TOKENS_USED,
  },
  {
    name: 'map, skipped by a resolver (a field the reader drops)',
    family: 'task_events',
    reader: task,
    writer: taskWithBudgets,
    prefix: BUDGETS,
  },
]

/** Block counts no loop gets through; negative ones are the block-size form (count, then byte size). */
const COUNTS = [2 ** 31, 2 ** 52, -(2 ** 31), -(2 ** 52)]

const FIXTURE = new URL('../fixtures/hostile-bodies.ts', import.meta.url)

function decode(
  encoding: SchemaEncoding,
  family: EventFamily,
  reader: SchemaVersion,
  writer: SchemaVersion,
  body: Buffer,
): Promise<Outcome> {
  const request: CraftedDecode = { encoding, family, reader: reader.text, writer: writer.text, body }
  return inWorker<Outcome>(FIXTURE, 'decodeCrafted', request)
}

beforeAll(async () => {
  // Starts the worker (tsx compiling the schemas takes a moment) outside any test's timeout.
  await decode('single-object', 'agent_events', agent, agent, Buffer.alloc(0))
}, 60_000)
afterEach(stopWorkerIfBusy)
afterAll(stopWorker)

const truncated = { kind: 'decode-error', code: 'TRUNCATED' }

describe.each(['registry', 'single-object'] as const)('%s encoding', (encoding) => {
  describe.each(CASES)('$name', ({ family, reader, writer, prefix }) => {
    it.each(COUNTS)('a block count of %d is TRUNCATED at once', async (count) => {
      // A few item bytes follow, as in a real body cut short; a negative count carries its byte size.
      const tail = count < 0 ? bytes(zigzag(6), 2, 0x61, 2, 0x62) : bytes(2, 0x61, 2, 0x62)
      const outcome = await decode(encoding, family, reader, writer, bytes(prefix, zigzag(count), tail))
      expect(outcome).toMatchObject({ ...truncated, message: expect.stringMatching(/declares \d+ /) })
    })

    it('a count the bytes left could hold still ends at the real end (TRUNCATED)', async () => {
      const outcome = await decode(encoding, family, reader, writer, bytes(prefix, zigzag(3), 2, 0x61))
      expect(outcome).toMatchObject(truncated)
    })
  })

  describe('block-size form skipped by a resolver', () => {
    it('a negative byte size (which would move the reader back, forever) is MALFORMED_BODY', async () => {
      // count -1, size -2: skipping it would land on the count again.
      const body = bytes(PAST_CAPABILITIES, zigzag(-1), zigzag(-2), 0)
      const outcome = await decode(encoding, 'agent_events', agent, agentWithPastCapabilities, body)
      expect(outcome).toMatchObject({
        kind: 'decode-error',
        code: 'MALFORMED_BODY',
        message: /negative size/,
      })
    })

    it('a byte size beyond the end is TRUNCATED, for arrays and maps', async () => {
      const size = bytes(zigzag(-1), zigzag(2 ** 52), 0)
      expect(
        await decode(
          encoding,
          'agent_events',
          agent,
          agentWithPastCapabilities,
          bytes(PAST_CAPABILITIES, size),
        ),
      ).toMatchObject(truncated)
      expect(
        await decode(encoding, 'task_events', task, taskWithBudgets, bytes(BUDGETS, size)),
      ).toMatchObject(truncated)
    })

    it('a well-formed sized block is skipped', async () => {
      // one Capability {name: "a", category: "b"} in a block of 4 bytes, then the end of the array.
      const body = bytes(PAST_CAPABILITIES, zigzag(-1), zigzag(4), 2, 0x61, 2, 0x62, 0)
      expect(await decode(encoding, 'agent_events', agent, agentWithPastCapabilities, body)).toMatchObject({
        kind: 'value',
        value: { payload: { 'agent_party.events.AgentCreated': { capabilities: [], model: null } } },
      })
    })
  })

  describe('strings and varints', () => {
    it.each([2 ** 52, -(2 ** 52), -1])(
      'a string declaring %d bytes is TRUNCATED, read or skipped',
      async (length) => {
        // event_id
        expect(
          await decode(encoding, 'agent_events', agent, agent, bytes(zigzag(length), 0x61)),
        ).toMatchObject(truncated)
        // `model`, string branch (1), which a v1 reader skips
        const body = bytes(CAPABILITIES, 0, 2, zigzag(length), 0x61)
        expect(await decode(encoding, 'agent_events', agentV1, agent, body)).toMatchObject(truncated)
      },
    )

    it.each([0xff, 0x80, 0xfe])(
      'a count varint of 200 bytes of value %i (beyond 2^53) is a DecodeError',
      async (fill) => {
        const varint = Buffer.concat([Buffer.alloc(200, fill), Buffer.from([0x01])])
        const outcome = await decode(
          encoding,
          'agent_events',
          agent,
          agent,
          bytes(CAPABILITIES, varint, 2, 0x61),
        )
        expect(outcome.kind).toBe('decode-error')
      },
    )
  })
})
