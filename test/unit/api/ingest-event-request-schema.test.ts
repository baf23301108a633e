// The JSON Schema of POST /events bodies in the OpenAPI document: derived from the Avro schemas (one
// branch per event type, each listing exactly the fields the converter takes), valid for Fastify's
// Ajv (draft-07 with OpenAPI's `nullable`), free of what OpenAPI 3.0 lacks (`const`, type arrays),
// and with examples that both the schema and the converter accept.
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { EVENT_EXAMPLES, eventJsonConverter, eventRequestJsonSchema } from '../../../api/ingest/event-json.js'

type Branch = {
  title: string
  properties: Record<string, { enum?: unknown[]; nullable?: boolean; type?: string }>
  required: string[]
}

const schema = eventRequestJsonSchema()
const branches = schema.oneOf as Branch[]

/** Every keyword name used anywhere in the schema, and every `type` value. */
function walk(value: unknown, visit: (key: string, child: unknown) => void): void {
  if (Array.isArray(value)) for (const item of value) walk(item, visit)
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      visit(key, child)
      walk(child, visit)
    }
  }
}

describe('eventRequestJsonSchema', () => {
  it('has one branch per event type, `type` a one-value enum, the key and required payload fields required', () => {
    const converter = eventJsonConverter()
    expect(branches.map((b) => b.title)).toEqual(converter.types.map((t) => t.type))
    for (const branch of branches) {
      const type = converter.eventType(branch.title)
      if (type === undefined) throw new Error(`no type ${branch.title}`)
      expect(branch.properties.type?.enum).toEqual([branch.title])
      expect(Object.keys(branch.properties).sort()).toEqual(
        ['type', ...type.envelope.map((f) => f.name), ...type.payload.fields.map((f) => f.name)].sort(),
      )
      expect(branch.required).toContain(type.keyField)
      expect(branch.required).not.toContain('event_id')
      expect(branch.required).not.toContain('occurred_at')
    }
    const agentCreated = branches.find((b) => b.title === 'AgentCreated')
    expect(agentCreated?.required).toEqual([
      'type',
      'agent_id',
      'template_id',
      'version',
      'name',
      'capabilities',
    ])
    expect(agentCreated?.properties.model).toMatchObject({ type: 'string', nullable: true })
  })

  it('uses nothing OpenAPI 3.0 lacks: no const, no type arrays, no $ref', () => {
    const problems: string[] = []
    walk(schema, (key, child) => {
      if (key === 'const' || key === '$ref') problems.push(key)
      if (key === 'type' && Array.isArray(child)) problems.push(`type ${JSON.stringify(child)}`)
    })
    expect(problems).toEqual([])
  })

  it('has 2 to 3 examples, each accepted by the converter', () => {
    const examples = schema.examples as unknown[]
    expect(examples.length).toBeGreaterThanOrEqual(2)
    expect(examples.length).toBeLessThanOrEqual(3)
    expect(examples).toEqual(EVENT_EXAMPLES)
    for (const example of examples) expect(() => eventJsonConverter().convert(example)).not.toThrow()
  })

  it("compiles in Fastify's Ajv and agrees with the converter on good and bad bodies", async () => {
    // removeAdditional would strip fields while trying the oneOf branches: off, to judge the schema itself.
    const app = Fastify({ ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } })
    app.post('/events', { schema: { body: schema } }, async () => ({ ok: true }))
    try {
      await app.ready()
      const post = async (body: unknown) =>
        (await app.inject({ method: 'POST', url: '/events', payload: body as object })).statusCode
      for (const example of EVENT_EXAMPLES) expect(await post(example)).toBe(200)
      expect(await post({ ...EVENT_EXAMPLES[0], model: null })).toBe(200)
      expect(await post({ ...EVENT_EXAMPLES[0], nmae: 'typo' })).toBe(400)
      expect(await post({ ...EVENT_EXAMPLES[0], type: 'AgentCreate' })).toBe(400)
      expect(await post({ ...EVENT_EXAMPLES[2], unit: 'SECONDS' })).toBe(400)
      expect(await post({ ...EVENT_EXAMPLES[1], occurred_at: 'yesterday' })).toBe(400)
      expect(await post({ type: 'AgentTerminated', reason: 'no key' })).toBe(400)
    } finally {
      await app.close()
    }
  })
})
