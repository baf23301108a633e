// `agent-party describe`: the topology of PROCESSOR_CONFIG as describe() text or Mermaid, the one the
// processor would run (its application id and topic names), and clear errors for bad input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../../cli/exit-codes.js'
import { run } from '../../../cli/main.js'
import { describeTopology } from '../../../processors/describe.js'
import { captureOutputPerTest } from '../../support/cli.js'

const io = captureOutputPerTest()
let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-describe-'))
  vi.stubEnv('PROCESSOR_CONFIG', '')
})

afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('agent-party describe', () => {
  it('prints the default topology as describe() text', async () => {
    expect(await run(['describe'])).toBe(EXIT.OK)
    expect(io.err).toBe('')
    expect(io.out.trimEnd()).toBe(describeTopology().text.trimEnd())
    expect(io.out).toContain('Sub-topology: 0')
    expect(io.out).toContain('agent_events')
  })

  it('prints a Mermaid diagram with --format mermaid', async () => {
    expect(await run(['describe', '--format', 'mermaid'])).toBe(EXIT.OK)
    expect(io.out.trimEnd()).toBe(describeTopology().mermaid.trimEnd())
    expect(io.out).toMatch(/^flowchart /)
  })

  it("describes PROCESSOR_CONFIG's topology: its topic names and application id", async () => {
    const file = join(dir, 'processor.json')
    writeFileSync(
      file,
      JSON.stringify({
        applicationId: 'cli-describe-app',
        inputTopics: { agent_events: 'cli.describe.agents' },
      }),
    )
    vi.stubEnv('PROCESSOR_CONFIG', file)
    expect(await run(['describe'])).toBe(EXIT.OK)
    expect(io.out).toContain('cli.describe.agents')
    // The application's own dead-letter and late topics, which its alerts read, carry its id.
    expect(io.out).toContain('cli-describe-app-dlq')
    expect(io.out).not.toContain('agent_event_processor')
  })

  it('exits 2 on an unknown format and 3 on a bad PROCESSOR_CONFIG, naming the problem', async () => {
    expect(await run(['describe', '--format', 'dot'])).toBe(EXIT.USAGE)
    expect(io.err).toContain('Allowed choices are text, mermaid')
    io.err = ''
    const file = join(dir, 'bad.json')
    writeFileSync(file, JSON.stringify({ applicationId: 'ok', windowSize: 5 }))
    vi.stubEnv('PROCESSOR_CONFIG', file)
    expect(await run(['describe'])).toBe(EXIT.CONFIG)
    expect(io.err).toContain('windowSize')
    expect(io.out).toBe('')
  })
})
