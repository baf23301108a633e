import { describe, expect, it } from 'vitest'
import { payloadName, payloadOf } from '../../../schemas/index.js'

describe('payload helpers', () => {
  it('unwrap a union branch', () => {
    const payload = { 'agent_party.events.AgentTerminated': { reason: 'r' } }
    expect(payloadName(payload)).toBe('AgentTerminated')
    expect(payloadOf(payload)).toEqual({ reason: 'r' })
    expect(() => payloadName({})).toThrow(TypeError)
  })
})
