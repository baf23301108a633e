// The output topics' contract: every output has a shipped Avro schema, documented field by field (the
// sinks, the API and consumers in other languages read them), every shipped schema is used, and the
// output serdes write what the registry and single-object readers read back.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { resolveProcessorConfig } from '../../../processors/config.js'
import { OUTPUT_NAMES, OUTPUTS, type OutputName, outputTopicSpecs } from '../../../processors/outputs.js'
import { createProcessorSerdes } from '../../../processors/serdes.js'
import { MemorySchemaLookup, outputSchemas } from '../../../schemas/index.js'

type Json = Record<string, unknown>

/** Every named type of a schema with the doc it carries (records, enums, fields). */
function undocumented(schema: unknown, path: string, out: string[]): string[] {
  if (Array.isArray(schema)) {
    for (const branch of schema) undocumented(branch, path, out)
  } else if (typeof schema === 'object' && schema !== null) {
    const s = schema as Json
    if ((s.type === 'record' || s.type === 'enum') && typeof s.doc !== 'string')
      out.push(`${path} (${s.name})`)
    if (s.type === 'record') {
      for (const field of s.fields as Json[]) {
        if (typeof field.doc !== 'string' || field.doc === '') out.push(`${path}.${field.name}`)
        undocumented(field.type, `${path}.${field.name}`, out)
      }
    }
    if (s.type === 'array') undocumented(s.items, `${path}[]`, out)
    if (s.type === 'map') undocumented(s.values, `${path}{}`, out)
  }
  return out
}

describe('output schemas', () => {
  const shipped = outputSchemas()

  it('ship one schema per output, and no schema that no output uses', () => {
    const used = new Set(OUTPUT_NAMES.map((name) => OUTPUTS[name].schema))
    expect([...used].filter((schema) => !shipped.has(schema))).toEqual([])
    expect([...shipped.keys()].filter((schema) => !used.has(schema))).toEqual([])
  })

  it('are records of namespace agent_party.outputs with a doc on the record and on every field', () => {
    for (const [name, schemas] of shipped) {
      const json = schemas.current.json as Json
      expect(json.type, name).toBe('record')
      expect(json.namespace, name).toBe('agent_party.outputs')
      expect(undocumented(json, name, []), name).toEqual([])
    }
  })

  it('keep nullable fields readable by old readers: null first, default null', () => {
    for (const [name, schemas] of shipped) {
      for (const field of (schemas.current.json as Json).fields as Json[]) {
        if (Array.isArray(field.type) && field.type.includes('null')) {
          expect(field.type[0], `${name}.${field.name}`).toBe('null')
          expect(field.default, `${name}.${field.name}`).toBeNull()
        }
      }
    }
  })
})

describe('output topics', () => {
  it("give the entity outputs (their tables' changelogs) the partitions of the event topic each table reads", () => {
    const { outputTopics } = resolveProcessorConfig()
    const partitions = (options?: Parameters<typeof outputTopicSpecs>[1]) =>
      Object.fromEntries(outputTopicSpecs(outputTopics, options).map((spec) => [spec.name, spec.partitions]))
    expect(Object.values(partitions()).every((n) => n === 8)).toBe(true)
    const sized = partitions({
      partitions: 4,
      eventPartitions: { agent_events: 12, team_events: 6, task_events: 3 },
    })
    expect([sized['agent_party.agents'], sized['agent_party.teams'], sized['agent_party.tasks']]).toEqual([
      12, 6, 3,
    ])
    expect(sized['agent_party.alerts']).toBe(4)
  })

  it('are compacted for snapshots and windows, deleted after the retention for events', () => {
    const specs = new Map(
      outputTopicSpecs(resolveProcessorConfig().outputTopics).map((spec) => [spec.name, spec.configs]),
    )
    expect(specs.get('agent_party.agents')).toEqual({ 'cleanup.policy': 'compact' })
    expect(specs.get('agent_party.agent_instantiations')).toEqual({
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(7 * 86_400_000),
    })
    for (const name of OUTPUT_NAMES) {
      const configs = specs.get(resolveProcessorConfig().outputTopics[name])
      expect(configs?.['cleanup.policy'], name).toBe(
        { snapshot: 'compact', windowed: 'compact,delete', event: 'delete' }[OUTPUTS[name].kind],
      )
    }
  })

  it('take their names from the configuration, and refuse an output the topology does not have', () => {
    const config = resolveProcessorConfig({ outputTopics: { agents: 'test.agents' } })
    expect(config.outputTopics.agents).toBe('test.agents')
    expect(config.outputTopics.teams).toBe('agent_party.teams')
    expect(() =>
      resolveProcessorConfig({ outputTopics: { agentz: 'x' } as unknown as Record<string, string> }),
    ).toThrow(/outputTopics\.agentz: .*expected one of agents, teams/)
  })
})

describe('output serdes', () => {
  const config = resolveProcessorConfig({ outputTopics: { agents: 'test.agents' } })
  const agent = {
    agent_id: 'a-1',
    status: 'IDLE',
    template_id: 't-1',
    version: 2,
    name: 'Ada',
    model: 'm',
    capabilities: [{ name: 'python', category: 'coding', proficiency: 0.5 }],
    terminated_reason: null,
    created_at: 1_700_000_000_000,
    updated_at: 1_700_000_000_000,
    last_event_id: 'e-1',
    events: 1,
  }

  it('write the registry wire format under <topic>-value and read it back', async () => {
    const lookup = new MemorySchemaLookup()
    const serdes = await createProcessorSerdes(config, { encoding: 'registry', lookup, autoRegister: true })
    const serde = serdes.output<typeof agent>('agents')
    const bytes = serde.serialize('test.agents', agent) as Buffer
    expect(bytes[0]).toBe(0)
    expect(await lookup.writerId('test.agents-value', shipped('outputs/agents'), { register: false })).toBe(
      bytes.readInt32BE(1),
    )
    expect(serde.deserialize('test.agents', bytes)).toMatchObject({ agent_id: 'a-1', status: 'IDLE' })
    expect(serde.serialize('test.agents', null as unknown as typeof agent)).toBeNull()
  })

  it('write single-object encoding without a registry, and refuse a value that breaks the schema', async () => {
    const serdes = await createProcessorSerdes(config, { encoding: 'single-object' })
    const serde = serdes.output<Json>('agents')
    const bytes = serde.serialize('test.agents', agent) as Buffer
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]))
    expect(serde.deserialize('test.agents', bytes)).toMatchObject({ agent_id: 'a-1' })
    expect(() => serde.serialize('test.agents', { ...agent, events: 'many' })).toThrow(/events/)
  })
})

function shipped(name: `outputs/${string}`): string {
  return outputSchemas().get(name)?.current.text ?? ''
}

describe('processors/README.md', () => {
  const readme = readFileSync(new URL('../../../processors/README.md', import.meta.url), 'utf8')

  it('documents every output and every setting', () => {
    const rows = readme.split('\n').filter((line) => line.startsWith('| `'))
    for (const name of OUTPUT_NAMES) {
      const base = name.replace(/Hourly$/, '')
      expect(
        rows.some((row) => row.includes(`\`${base}\``)),
        name,
      ).toBe(true)
      expect(readme, name).toContain(OUTPUTS[base as OutputName].topic)
    }
    const config = resolveProcessorConfig()
    for (const [setting, value] of Object.entries(config)) {
      if (typeof value === 'object' && !['inputTopics', 'outputTopics'].includes(setting)) {
        for (const nested of Object.keys(value)) expect(readme, setting).toContain(`\`${setting}.${nested}\``)
      } else
        expect(
          rows.some((row) => row.includes(`\`${setting}\``)),
          setting,
        ).toBe(true)
    }
  })
})
