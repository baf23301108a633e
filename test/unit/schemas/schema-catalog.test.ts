import { describe, expect, it } from 'vitest'
import { EVENT_FAMILIES, eventFamilies, loadSchemaCatalog } from '../../../schemas/index.js'
import { SAMPLES } from './fixtures/sample-events.js'

const catalog = loadSchemaCatalog()

type FieldJson = { name: string; doc?: string; type: unknown }

describe('the shipped schemas', () => {
  it.each(EVENT_FAMILIES)(
    '%s: envelope with event_id (uuid), occurred_at (timestamp-millis), key, payload',
    (family) => {
      const json = catalog[family].current.json as { namespace: string; fields: FieldJson[] }
      expect(json.namespace).toBe('agent_party.events')
      expect(json.fields.map((f) => f.name)).toEqual([
        'event_id',
        'occurred_at',
        eventFamilies[family].keyField,
        'payload',
      ])
      expect(json.fields[0]?.type).toEqual({ type: 'string', logicalType: 'uuid' })
      expect(json.fields[1]?.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' })
    },
  )

  it.each(EVENT_FAMILIES)('%s: every record, enum and field has a doc', (family) => {
    const undocumented: string[] = []
    const visit = (node: unknown, path: string): void => {
      if (Array.isArray(node)) {
        for (const [i, n] of node.entries()) visit(n, `${path}[${i}]`)
        return
      }
      if (!node || typeof node !== 'object') return
      const o = node as {
        type?: unknown
        name?: string
        doc?: string
        fields?: FieldJson[]
        items?: unknown
        values?: unknown
      }
      if ((o.type === 'record' || o.type === 'enum') && !o.doc) undocumented.push(`${path}${o.name}`)
      for (const f of o.fields ?? []) {
        if (!f.doc) undocumented.push(`${path}${o.name}.${f.name}`)
        visit(f.type, `${o.name}.${f.name}:`)
      }
      visit(o.items, path)
      visit(o.values, path)
    }
    visit(catalog[family].current.json, '')
    expect(undocumented).toEqual([])
  })

  it('the samples cover every event type of every family', () => {
    for (const family of EVENT_FAMILIES) {
      const union = (catalog[family].current.json as { fields: FieldJson[] }).fields[3]?.type as {
        name: string
      }[]
      const sampled = SAMPLES.filter((s) => s.family === family).map((s) => s.name)
      expect(sampled, family).toEqual(union.map((b) => b.name))
    }
  })

  it('keeps agent_events v1 and v2 in history, v2 being the current schema', () => {
    const agent = catalog.agent_events
    expect(agent.history.map((h) => h.version)).toEqual([1, 2])
    expect(agent.current.version).toBe(2)
    expect(agent.current.fingerprint).not.toBe(agent.history[0]?.fingerprint)
  })
})
