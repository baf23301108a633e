// `agent-party run processor|sinks` keeps its role running until a signal or the role's fatal error:
// either way the role is closed, and a fatal error then ends the process non-zero, so that a
// supervisor restarts an instance that no longer processes.
import { describe, expect, it } from 'vitest'
import { runUntilStopped } from '../../../cli/commands/run.js'

function role() {
  const calls: string[] = []
  return { calls, close: async () => void calls.push('close') }
}

const never = new Promise<never>(() => {})

describe('runUntilStopped', () => {
  it('closes the role on the signal and returns', async () => {
    const r = role()
    await runUntilStopped(r, never, Promise.resolve())
    expect(r.calls).toEqual(['close'])
  })

  it('closes the role on its fatal error, then throws that error', async () => {
    const r = role()
    const fatal = new Error('PROCESSING_FAILED: MDB_BAD_TXN')
    await expect(runUntilStopped(r, Promise.reject(fatal), never)).rejects.toBe(fatal)
    expect(r.calls).toEqual(['close'])
  })

  it('closes the role when it ends by itself, without an error', async () => {
    const r = role()
    await runUntilStopped(r, Promise.resolve(), never)
    expect(r.calls).toEqual(['close'])
  })
})
