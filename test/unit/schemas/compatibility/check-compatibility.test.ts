import { describe, expect, it } from 'vitest'
import { checkFamily } from '../../../../schemas/compatibility/check-compatibility.js'
import { checkCompatibility, loadSchemaCatalog } from '../../../../schemas/index.js'
import {
  familyWith,
  schemaJson,
  version,
  withNewPayloadBranch,
  withNewStatusSymbol,
  withRequiredField,
} from '../fixtures/schema-variants.js'

const v1 = version('agent_events', schemaJson('history/agent-events.v1.avsc'), 1)
const v2 = version('agent_events', schemaJson('history/agent-events.v2.avsc'), 2)

describe('offline backward-transitive check', () => {
  it('passes for the shipped schemas and their history', () => {
    expect(checkCompatibility(loadSchemaCatalog())).toEqual([])
  })

  it.each([
    ['a new event type (union branch)', withNewPayloadBranch()],
    ['a new enum symbol (the enum has a default)', withNewStatusSymbol()],
  ])('accepts %s as v3', (_, json) => {
    const v3 = version('agent_events', json, 3)
    expect(checkFamily(familyWith(v3, [v1, v2, v3]))).toEqual([])
  })

  it('fails when a new version adds a field without default: it cannot read v1 or v2 data', () => {
    const v3 = version('agent_events', withRequiredField(), 3)
    const problems = checkFamily(familyWith(v3, [v1, v2, v3]))
    expect(problems.map((p) => p.problem)).toEqual([
      expect.stringMatching(/cannot read data written with version 1/),
      expect.stringMatching(/cannot read data written with version 2/),
    ])
  })

  it('fails when the current schema was changed without recording it in history/', () => {
    const changed = version('agent_events', withNewPayloadBranch())
    expect(checkFamily(familyWith(changed, [v1, v2]))).toEqual([
      expect.objectContaining({
        problem: expect.stringMatching(/copy it to history\/agent-events\.v3\.avsc/),
      }),
    ])
  })

  it('fails for an enum without a default', () => {
    const json = schemaJson('agent-events.avsc') as unknown as { fields: { type: unknown }[] }
    const union = json.fields[3]?.type as { fields: { type: { default?: string } }[] }[]
    delete union[1]?.fields[0]?.type.default
    const current = version('agent_events', json, 3)
    expect(checkFamily(familyWith(current, [v1, v2, current])).map((p) => p.problem)).toContain(
      'enum agent_party.events.AgentStatus has no default: old readers would fail on a new symbol',
    )
  })
})
