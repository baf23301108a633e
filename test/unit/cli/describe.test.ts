// `agent-party describe`: the topology of PROCESSOR_CONFIG as describe() text or Mermaid, the one the
// processor would run (its application id and topic names), and clear errors for bad input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../../cli/exit-codes.js'
import { run } from '../../../cli/main.js'
import { describeTopology } from '../../../processors/describe.js'
import { captureOutput } from '../../support/cli.js'

let out = ''
let err = ''
let dir: string

beforeEach(() => {
  out = ''
  err = ''
  dir = mkdtempSync(join(tmpdir(), 'cli-describe-'))
  vi.stubEnv('PROCESSOR_CONFIG', '')
  captureOutput(
    (text) => {
      out += text
    },
    (text) => {
      err += text
    },
  )
})

afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllEnvs()
  rmSync(dir, { recursive: true, force: true })
})

describe('agent-party describe', () => {
  it('prints the default topology as describe() text', async () => {
    expect(await run(['describe'])).toBe(EXIT.OK)
    expect(err).toBe('')
    expect(out.trimEnd()).toBe(describeTopology().text.trimEnd())
    expect(out).toContain('Sub-topology: 0')
    expect(out).toContain('agent_events')
  })

  it('prints a Mermaid diagram with --format mermaid', async () => {
    expect(await run(['describe', '--format', 'mermaid'])).toBe(EXIT.OK)
    expect(out.trimEnd()).toBe(describeTopology().mermaid.trimEnd())
    expect(out).toMatch(/^flowchart /)
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
    expect(out).toContain('cli.describe.agents')
    // The application's own dead-letter and late topics, which its alerts read, carry its id.
    expect(out).toContain('cli-describe-app-dlq')
    expect(out).not.toContain('agent_event_processor')
  })

  it('exits 2 on an unknown format and 3 on a bad PROCESSOR_CONFIG, naming the problem', async () => {
    expect(await run(['describe', '--format', 'dot'])).toBe(EXIT.USAGE)
    expect(err).toContain('Allowed choices are text, mermaid')
    err = ''
    const file = join(dir, 'bad.json')
    writeFileSync(file, JSON.stringify({ applicationId: 'ok', windowSize: 5 }))
    vi.stubEnv('PROCESSOR_CONFIG', file)
    expect(await run(['describe'])).toBe(EXIT.CONFIG)
    expect(err).toContain('windowSize')
    expect(out).toBe('')
  })
})
