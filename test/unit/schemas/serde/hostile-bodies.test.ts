// Corrupt or crafted bodies whose array or map counts cannot fit the bytes left must fail at once with
// a typed DecodeError, whatever the path: read directly, through a resolver (another writer version)
// or skipped by a resolver (a field the reader drops), in both encodings. The counts are so large
// that the loop avsc would otherwise run never ends: a regression hangs the test until vitest's
// timeout fails it.
import { describe, expect, it } from 'vitest'
import { DecodeError, type EventFamily, schemaCatalog } from '../../../../schemas/index.js'
import type { SchemaVersion } from '../../../../schemas/schema-catalog.js'
import { bytes, readingOf, zigzag } from '../fixtures/hostile-bodies.js'
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

function decodeError(run: () => unknown): DecodeError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError)
    return error as DecodeError
  }
  throw new Error('decoded without error')
}

describe.each(['registry', 'single-object'] as const)('%s encoding', (encoding) => {
  describe.each(CASES)('$name', ({ family, reader, writer, prefix }) => {
    it.each(COUNTS)('a block count of %d is TRUNCATED at once', async (count) => {
      const { serde, frame } = await readingOf(encoding, family, reader, writer)
      // A few item bytes follow, as in a real body cut short; a negative count carries its byte size.
      const tail = count < 0 ? bytes(zigzag(6), 2, 0x61, 2, 0x62) : bytes(2, 0x61, 2, 0x62)
      const error = decodeError(() => serde.deserialize(frame(bytes(prefix, zigzag(count), tail))))
      expect(error.code).toBe('TRUNCATED')
      expect(error.message).toMatch(/declares \d+ (items|entries|bytes)/)
    })

    it('a count of items the bytes left could hold still decodes up to the real end (TRUNCATED)', async () => {
      const { serde, frame } = await readingOf(encoding, family, reader, writer)
      expect(decodeError(() => serde.deserialize(frame(bytes(prefix, zigzag(3), 2, 0x61)))).code).toBe(
        'TRUNCATED',
      )
    })
  })

  describe('block-size form skipped by a resolver', () => {
    it('a negative byte size (which would move the reader back, forever) is MALFORMED_BODY', async () => {
      const { serde, frame } = await readingOf(encoding, 'agent_events', agent, agentWithPastCapabilities)
      // count -1, size -2: skipping it would land on the count again.
      const body = bytes(PAST_CAPABILITIES, zigzag(-1), zigzag(-2), 0)
      const error = decodeError(() => serde.deserialize(frame(body)))
      expect(error.code).toBe('MALFORMED_BODY')
      expect(error.message).toMatch(/negative size/)
    })

    it('a byte size beyond the end is TRUNCATED, for arrays and maps', async () => {
      const array = await readingOf(encoding, 'agent_events', agent, agentWithPastCapabilities)
      const map = await readingOf(encoding, 'task_events', task, taskWithBudgets)
      for (const [{ serde, frame }, prefix] of [
        [array, PAST_CAPABILITIES],
        [map, BUDGETS],
      ] as const) {
        const body = bytes(prefix, zigzag(-1), zigzag(2 ** 52), 0)
        expect(decodeError(() => serde.deserialize(frame(body))).code).toBe('TRUNCATED')
      }
    })

    it('a well-formed sized block is skipped', async () => {
      const { serde, frame } = await readingOf(encoding, 'agent_events', agent, agentWithPastCapabilities)
      // one Capability {name: "a", category: "b"} in a block of 4 bytes, then the end of the array.
      const body = bytes(PAST_CAPABILITIES, zigzag(-1), zigzag(4), 2, 0x61, 2, 0x62, 0)
      expect(serde.deserialize(frame(body))).toMatchObject({
        payload: { 'agent_party.events.AgentCreated': { capabilities: [], model: null } },
      })
    })
  })

  describe('strings and varints', () => {
    it('a string declaring 2^52 bytes, or a negative length, is TRUNCATED (read and skipped)', async () => {
      const direct = await readingOf(encoding, 'agent_events', agent, agent)
      const v1Reader = await readingOf(encoding, 'agent_events', agentV1, agent)
      for (const length of [2 ** 52, -(2 ** 52), -1]) {
        // event_id
        expect(
          decodeError(() => direct.serde.deserialize(direct.frame(bytes(zigzag(length), 0x61)))).code,
        ).toBe('TRUNCATED')
        // `model`, string branch (1), which a v1 reader skips
        const body = bytes(CAPABILITIES, 0, 2, zigzag(length), 0x61)
        expect(decodeError(() => v1Reader.serde.deserialize(v1Reader.frame(body))).code).toBe('TRUNCATED')
      }
    })

    it('a count varint of 200 continuation bytes (beyond 2^53, even Infinity) is a DecodeError', async () => {
      const { serde, frame } = await readingOf(encoding, 'agent_events', agent, agent)
      for (const fill of [0xff, 0x80, 0xfe]) {
        const varint = Buffer.concat([Buffer.alloc(200, fill), Buffer.from([0x01])])
        decodeError(() => serde.deserialize(frame(bytes(CAPABILITIES, varint, 2, 0x61))))
      }
    })
  })
})
