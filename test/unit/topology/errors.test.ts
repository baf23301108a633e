// The error table: every code documented, retryable where a retry can help.
import { describe, expect, it } from 'vitest'
import { isTopologyError, TopologyError, topologyErrorCodes } from '../../../topology/index.js'

describe('topology errors', () => {
  it('documents every code', () => {
    for (const [code, spec] of Object.entries(topologyErrorCodes)) {
      expect(spec.doc.length, code).toBeGreaterThan(20)
      expect(code).toMatch(/^[A-Z_]+$/)
    }
  })

  it('carries code, retryable, subject and cause', () => {
    const cause = new Error('down')
    const error = new TopologyError('ASYNC_OPERATION_FAILED', 'lookup failed', {
      cause,
      subject: 'node',
      taskId: '0_1',
    })
    expect(error).toMatchObject({
      code: 'ASYNC_OPERATION_FAILED',
      retryable: true,
      subject: 'node',
      taskId: '0_1',
      cause,
    })
    expect(error.message).toBe('ASYNC_OPERATION_FAILED: lookup failed')
    expect(isTopologyError(error, 'ASYNC_OPERATION_FAILED')).toBe(true)
    expect(isTopologyError(error, 'MISSING_SERDE')).toBe(false)
    expect(new TopologyError('MISSING_SERDE', 'x').retryable).toBe(false)
  })
})
