// The JSON event converter of POST /events: every generated event, flattened as a client posts it,
// converts back to the very envelope the generator made; defaults, both timestamp forms, and every
// kind of error, all reported at once with their paths. Also the flat-body contract: no payload field
// may be named like an envelope field, in the shipped schemas or in a future one.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  EVENT_EXAMPLES,
  EventJsonConverter,
  EventValidationError,
  eventFromJson,
  eventJsonConverter,
} from '../../../api/ingest/event-json.js'
import {
  createEventSerdes,
  EVENT_FAMILIES,
  eventFamilies,
  generateRecords,
  loadSchemaCatalog,
  payloadName,
  payloadOf,
  schemaCatalog,
} from '../../../schemas/index.js'
import { flatBody } from '../../support/api-fixtures.js'

const fixed = { now: () => 1_700_000_000_000, newId: () => '00000000-0000-4000-8000-000000000000' }

/** The error a body gets, or fails the test if it converts. */
function problemsOf(body: unknown, converter = eventJsonConverter()) {
  try {
    converter.convert(body, fixed)
  } catch (error) {
    expect(error).toBeInstanceOf(EventValidationError)
    return (error as EventValidationError).details
  }
  throw new Error(`expected ${JSON.stringify(body)} to be refused`)
}

const agentCreated = {
  type: 'AgentCreated',
  agent_id: 'a-1',
  template_id: 'tmpl-1',
  version: 2,
  name: 'reviewer',
  capabilities: [{ name: 'code-review', category: 'coding' }],
}

describe('EventJsonConverter', () => {
  it('converts every generated event of every type and family back to the envelope the generator made', async () => {
    const serdes = await createEventSerdes({ encoding: 'single-object' })
    const types = new Set<string>()
    let i = 0
    for (const record of generateRecords({ seed: 'ingest', count: 2000, baseTime: Date.UTC(2026, 10, 27) })) {
      const event = record.event as { payload: object; occurred_at: number }
      const converted = eventFromJson(flatBody(event, i++ % 2 === 0 ? 'iso' : 'ms'))
      expect(converted.family).toBe(record.family)
      expect(converted.key).toBe(record.key)
      expect(converted.type).toBe(payloadName(event.payload))
      expect(converted.event).toEqual(record.event)
      // What avsc writes from it reads back the same.
      const serde = serdes[converted.family] as unknown as { serialize(e: unknown): Buffer }
      expect(serdes[converted.family].deserialize(serde.serialize(converted.event))).toEqual(record.event)
      types.add(converted.type)
    }
    expect([...types].sort()).toEqual(
      eventJsonConverter()
        .types.map((t) => t.type)
        .sort(),
    )
  })

  it('builds the envelope of each family from a flat body, wrapping the payload in its branch name', () => {
    expect(eventFromJson(agentCreated, fixed)).toEqual({
      family: 'agent_events',
      type: 'AgentCreated',
      key: 'a-1',
      event: {
        event_id: fixed.newId(),
        occurred_at: fixed.now(),
        agent_id: 'a-1',
        payload: {
          'agent_party.events.AgentCreated': {
            template_id: 'tmpl-1',
            version: 2,
            name: 'reviewer',
            capabilities: [{ name: 'code-review', category: 'coding' }],
            model: null,
          },
        },
      },
    })
    const team = eventFromJson(
      {
        type: 'TeamFormed',
        team_id: 't-1',
        task_id: 'k-1',
        members: [
          { agent_id: 'a-1', role: 'LEADER' },
          { agent_id: 'a-2', role: 'REVIEWER' },
        ],
        formation_score: 0.9,
        inference_time_ms: 12,
      },
      fixed,
    )
    expect(team).toMatchObject({ family: 'team_events', key: 't-1' })
    expect(team.event.payload).toEqual({
      'agent_party.events.TeamFormed': {
        task_id: 'k-1',
        members: [
          { agent_id: 'a-1', role: 'LEADER' },
          { agent_id: 'a-2', role: 'REVIEWER' },
        ],
        formation_score: 0.9,
        inference_time_ms: 12,
      },
    })
    // A map key named __proto__ (JSON.parse makes it an own property) stays a key.
    const task = eventFromJson(
      JSON.parse(
        '{"type":"TaskFailed","task_id":"k-1","error":"boom","tokens_used":{"a-1":10,"__proto__":5}}',
      ),
      fixed,
    )
    expect(task.family).toBe('task_events')
    const failed = payloadOf<{ tokens_used: Record<string, number> }>(task.event.payload)
    expect(Object.entries(failed.tokens_used)).toEqual([
      ['a-1', 10],
      ['__proto__', 5],
    ])
    expect(Object.getPrototypeOf(failed.tokens_used)).toBe(Object.prototype)
    const system = eventFromJson({
      type: 'ComponentHealth',
      component: 'api',
      level: 'DEGRADED',
      message: 'slow',
    })
    expect(system).toMatchObject({ family: 'system_events', key: 'api' })
  })

  it('keeps a given event_id and takes model null or a string', () => {
    const id = '0B6F7A8E-3F1C-4D2E-9A51-6C2D8E4B7F10'
    const converted = eventFromJson({ ...agentCreated, event_id: id, model: 'llm-large-2' })
    expect(converted.event.event_id).toBe(id.toLowerCase())
    expect(payloadOf<{ model: unknown }>(converted.event.payload).model).toBe('llm-large-2')
    expect(
      payloadOf<{ model: unknown }>(eventFromJson({ ...agentCreated, model: null }).event.payload).model,
    ).toBe(null)
  })

  it('defaults event_id to a new UUID and occurred_at to now', () => {
    const before = Date.now()
    const a = eventFromJson(agentCreated).event
    const b = eventFromJson(agentCreated).event
    expect(a.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(b.event_id).not.toBe(a.event_id)
    expect(a.occurred_at).toBeGreaterThanOrEqual(before)
    expect(a.occurred_at).toBeLessThanOrEqual(Date.now())
  })

  it.each([
    ['2026-11-27T12:00:00Z', Date.UTC(2026, 10, 27, 12)],
    ['2026-11-27t12:00:00z', Date.UTC(2026, 10, 27, 12)],
    ['2026-11-27T12:00Z', Date.UTC(2026, 10, 27, 12)],
    ['2026-11-27 12:00:00Z', Date.UTC(2026, 10, 27, 12)],
    ['2026-11-27T12:00:00.123Z', Date.UTC(2026, 10, 27, 12, 0, 0, 123)],
    ['2026-11-27T12:00:00.5Z', Date.UTC(2026, 10, 27, 12, 0, 0, 500)],
    ['2026-11-27T12:00:00.123999Z', Date.UTC(2026, 10, 27, 12, 0, 0, 123)],
    ['2026-11-27T13:30:00+01:30', Date.UTC(2026, 10, 27, 12)],
    ['2026-11-27T07:00:00-0500', Date.UTC(2026, 10, 27, 12)],
    ['2028-02-29T00:00:00Z', Date.UTC(2028, 1, 29)],
    ['0099-01-01T00:00:00Z', -59042995200000],
    [1_795_780_800_000, 1_795_780_800_000],
    [0, 0],
  ])('reads occurred_at %j as %d', (occurred_at, expected) => {
    expect(eventFromJson({ ...agentCreated, occurred_at }).event.occurred_at).toBe(expected)
  })

  it.each([
    '2026-11-27',
    '2026-11-27T12:00:00',
    '2026-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-11-27T24:00:00Z',
    '2026-11-27T12:00:60Z',
    '2026-11-27T12:00:00+24:00',
    'Fri, 27 Nov 2026 12:00:00 GMT',
    'yesterday',
    '1795780800000',
    1.5,
    9e15,
    null,
    true,
  ])('refuses occurred_at %j', (occurred_at) => {
    expect(problemsOf({ ...agentCreated, occurred_at })).toEqual([
      { field: 'occurred_at', message: 'not an ISO-8601 time or epoch ms' },
    ])
  })

  it('reports every invalid field at once, with its path, in schema order and unknown fields last', () => {
    expect(
      problemsOf({
        type: 'AgentCreated',
        agent_id: '',
        event_id: 'not-a-uuid',
        occurred_at: 'yesterday',
        version: 2 ** 31,
        name: 7,
        capabilities: [{ name: 'ok', category: 'ok' }, { name: 1, extra: true }, 'x'],
        model: 3,
        team_id: 't-1',
        payload: {},
      }),
    ).toEqual([
      { field: 'agent_id', message: 'expected a non-empty string' },
      { field: 'event_id', message: 'expected a UUID' },
      { field: 'occurred_at', message: 'not an ISO-8601 time or epoch ms' },
      { field: 'template_id', message: 'required' },
      { field: 'version', message: 'expected an integer from -2147483648 to 2147483647' },
      { field: 'name', message: 'expected a string' },
      { field: 'capabilities[1].name', message: 'expected a string' },
      { field: 'capabilities[1].category', message: 'required' },
      { field: 'capabilities[1].extra', message: 'unknown field' },
      { field: 'capabilities[2]', message: 'expected an object' },
      { field: 'model', message: 'expected a string or null' },
      { field: 'team_id', message: 'unknown field' },
      { field: 'payload', message: 'unknown field' },
    ])
  })

  it('checks enums, integers, numbers, arrays and maps', () => {
    expect(
      problemsOf({ type: 'AgentStatusChanged', agent_id: 'a', previous_status: 'idle', status: 2 }),
    ).toEqual([
      { field: 'previous_status', message: 'not one of IDLE, BUSY, OFFLINE, UNKNOWN' },
      { field: 'status', message: 'not one of IDLE, BUSY, OFFLINE, UNKNOWN' },
    ])
    expect(
      problemsOf({
        type: 'TaskCreated',
        task_id: 'k',
        priority: 'HIGH',
        required_capabilities: ['a', 2],
        token_budget: 1.5,
      }),
    ).toEqual([
      { field: 'required_capabilities[1]', message: 'expected a string' },
      { field: 'token_budget', message: 'expected an integer from -9007199254740990 to 9007199254740990' },
    ])
    expect(
      problemsOf({
        type: 'TaskCompleted',
        task_id: 'k',
        tokens_used: { 'a 1': '5', ok: 1 },
        // 2^53 - 1 is a safe integer, but one past the longs avsc writes.
        duration_ms: 2 ** 53 - 1,
      }),
    ).toEqual([
      {
        field: 'tokens_used["a 1"]',
        message: 'expected an integer from -9007199254740990 to 9007199254740990',
      },
      { field: 'duration_ms', message: 'expected an integer from -9007199254740990 to 9007199254740990' },
    ])
    expect(problemsOf({ type: 'TaskFailed', task_id: 'k', error: 'e', tokens_used: [] })).toEqual([
      { field: 'tokens_used', message: 'expected an object' },
    ])
    expect(
      problemsOf({ type: 'ComponentMetric', component: 'c', name: 'n', value: '1', unit: 'SECONDS' }),
    ).toEqual([
      { field: 'value', message: 'expected a number' },
      { field: 'unit', message: 'not one of MILLISECONDS, COUNT, PERCENT, BYTES, TOKENS, UNKNOWN' },
    ])
    expect(problemsOf({ type: 'TaskAssigned', task_id: 'k', team_id: 't', agent_ids: 'a' })).toEqual([
      { field: 'agent_ids', message: 'expected an array' },
    ])
    expect(
      problemsOf({ type: 'MemberJoined', team_id: 't', member: { agent_id: 'a', role: 'BOSS' } }),
    ).toEqual([{ field: 'member.role', message: 'not one of LEADER, MEMBER, REVIEWER, UNKNOWN' }])
    expect(problemsOf({ type: 'TeamDisbanded', reason: 'done' })).toEqual([
      { field: 'team_id', message: 'required' },
    ])
  })

  it('lists the valid types for a missing or unknown type, and still checks event_id and occurred_at', () => {
    const valid = eventJsonConverter()
      .types.map((t) => t.type)
      .join(', ')
    expect(valid).toContain('AgentCreated, AgentStatusChanged')
    expect(valid).toContain('ComponentHealth')
    expect(problemsOf({ agent_id: 'a' })).toEqual([{ field: 'type', message: `required: one of ${valid}` }])
    expect(problemsOf({ type: 'AgentCreate', event_id: 'x', occurred_at: '2026-11-27T12:00:00Z' })).toEqual([
      { field: 'type', message: `not one of ${valid}` },
      { field: 'event_id', message: 'expected a UUID' },
    ])
    expect(problemsOf({ type: 'agent_party.events.AgentCreated' })[0]?.message).toBe(`not one of ${valid}`)
    expect(problemsOf({ type: 3 })[0]?.message).toBe(`not one of ${valid}`)
  })

  it.each([null, [], 'AgentCreated', 3])('refuses a body that is not a JSON object: %j', (body) => {
    expect(problemsOf(body)).toEqual([{ field: '(body)', message: 'expected a JSON object' }])
  })

  it('names the fields in the error message too', () => {
    const error = (() => {
      try {
        eventFromJson({ type: 'AgentTerminated', agent_id: 'a', reasn: 'x' })
      } catch (e) {
        return e as EventValidationError
      }
    })()
    expect(error?.code).toBe('INVALID_EVENT')
    expect(error?.message).toBe('invalid event (2 problems): reason: required; reasn: unknown field')
  })

  it('converts a payload-only body under a key the server chose (POST /agents)', () => {
    const { type: _type, agent_id: _id, ...fields } = agentCreated
    const converted = eventJsonConverter().convertPayload('AgentCreated', fields, 'new-id', fixed)
    expect(converted).toEqual({
      ...eventFromJson({ ...agentCreated, agent_id: 'new-id' }, fixed),
      key: 'new-id',
    })
    expect(() => eventJsonConverter().convertPayload('AgentCreated', agentCreated, 'k', fixed)).toThrow(
      expect.objectContaining({
        details: [
          { field: 'type', message: 'unknown field' },
          { field: 'agent_id', message: 'unknown field' },
        ],
      }),
    )
    expect(() => eventJsonConverter().convertPayload('AgentCreated', [], 'k')).toThrow(EventValidationError)
  })

  it('accepts the documented examples', () => {
    for (const example of EVENT_EXAMPLES) expect(() => eventFromJson(example)).not.toThrow()
  })
})

describe('the flat body', () => {
  it('has no payload field named like an envelope field (type, event_id, occurred_at, the key field)', () => {
    for (const family of EVENT_FAMILIES) {
      const envelope = schemaCatalog()[family].current.json as { fields: { name: string; type: unknown }[] }
      const names = new Set([
        'type',
        ...envelope.fields.filter((f) => f.name !== 'payload').map((f) => f.name),
      ])
      expect(names).toEqual(new Set(['type', 'event_id', 'occurred_at', eventFamilies[family].keyField]))
      const union = envelope.fields.find((f) => f.name === 'payload')?.type as {
        name: string
        fields: { name: string }[]
      }[]
      expect(union.length).toBeGreaterThan(0)
      for (const branch of union) {
        const clashes = branch.fields.map((f) => f.name).filter((n) => names.has(n))
        expect(clashes, `${family} ${branch.name}`).toEqual([])
      }
    }
  })

  describe('with schemas changed in a temporary folder', () => {
    const dirs: string[] = []
    afterAll(() => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    })

    /** The shipped schemas with `edit` applied to one family's payload branch, loaded as a catalog. */
    function changedCatalog(file: string, branch: string, edit: (record: { fields: unknown[] }) => void) {
      const dir = mkdtempSync(join(tmpdir(), 'ingest-schemas-'))
      dirs.push(dir)
      for (const family of EVENT_FAMILIES) {
        const name = `${eventFamilies[family].schemaFile}.avsc`
        const json = JSON.parse(readFileSync(join('schemas/avro', name), 'utf8'))
        if (eventFamilies[family].schemaFile === file) {
          const payload = json.fields.find((f: { name: string }) => f.name === 'payload')
          edit(payload.type.find((b: { name: string }) => b.name === branch))
        }
        writeFileSync(join(dir, name), JSON.stringify(json))
      }
      return loadSchemaCatalog(dir)
    }

    it('refuses to build when a payload field takes an envelope name', () => {
      const catalog = changedCatalog('task-events', 'TaskStarted', (r) => {
        r.fields.push({ name: 'occurred_at', type: 'string' })
      })
      expect(() => new EventJsonConverter(catalog)).toThrow(/TaskStarted has field\(s\) occurred_at/)
    })

    it('refuses to build for an Avro type it has no JSON mapping for', () => {
      const catalog = changedCatalog('agent-events', 'AgentTerminated', (r) => {
        r.fields.push({ name: 'blob', type: 'bytes', default: '' })
      })
      expect(() => new EventJsonConverter(catalog)).toThrow(/AgentTerminated.blob: Avro type bytes/)
    })

    it('reads timestamps inside payloads, and fields with defaults, as it reads occurred_at', () => {
      const catalog = changedCatalog('task-events', 'TaskCreated', (r) => {
        r.fields.push(
          { name: 'due_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
          {
            name: 'deadlines',
            type: { type: 'array', items: { type: 'long', logicalType: 'timestamp-millis' } },
          },
          { name: 'retries', type: 'int', default: 3 },
          { name: 'urgent', type: 'boolean', default: false },
        )
      })
      const converter = new EventJsonConverter(catalog)
      const body = {
        type: 'TaskCreated',
        task_id: 'k',
        priority: 'LOW',
        required_capabilities: [],
        token_budget: 10,
        due_at: '2026-11-27T12:00:00+00:00',
        deadlines: [0, '1970-01-01T00:00:01Z'],
      }
      expect(payloadOf(converter.convert(body, fixed).event.payload)).toEqual({
        priority: 'LOW',
        required_capabilities: [],
        token_budget: 10,
        due_at: Date.UTC(2026, 10, 27, 12),
        deadlines: [0, 1000],
        retries: 3,
        urgent: false,
      })
      expect(problemsOf({ ...body, due_at: 'noon', deadlines: [1, 'x'], urgent: 'yes' }, converter)).toEqual([
        { field: 'due_at', message: 'not an ISO-8601 time or epoch ms' },
        { field: 'deadlines[1]', message: 'not an ISO-8601 time or epoch ms' },
        { field: 'urgent', message: 'expected a boolean' },
      ])
    })
  })
})
