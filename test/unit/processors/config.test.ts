// The topology's settings: defaults that match the operations guide, each bad value refused with the
// setting's name and the expected form, and PROCESSOR_CONFIG files that cannot hide a typo.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../../cli/exit-codes.js'
import { run } from '../../../cli/main.js'
import {
  loadProcessorConfig,
  ProcessorConfigError,
  type ProcessorConfigInput,
  resolveProcessorConfig,
} from '../../../processors/config.js'

const dir = mkdtempSync(join(tmpdir(), 'processor-config-'))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllEnvs()
})

describe('resolveProcessorConfig', () => {
  it("defaults to the operations guide's group, topics and windows", () => {
    const config = resolveProcessorConfig()
    expect(config.applicationId).toBe('agent_event_processor')
    expect(config.inputTopics).toEqual({
      agent_events: 'agent_events',
      team_events: 'team_events',
      task_events: 'task_events',
      system_events: 'system_events',
    })
    expect(config.outputTopics.alerts).toBe('agent_party.alerts')
    expect(config.outputTopics.agentInstantiationsHourly).toBe('agent_party.agent_instantiations_1h')
    expect([config.metricsWindowMs, config.metricsGraceMs]).toEqual([60_000, 30_000])
    expect([config.hoppingWindowMs, config.hoppingAdvanceMs]).toEqual([3_600_000, 300_000])
    expect([config.topN, config.sessionGapMs, config.dedupHorizonMs]).toEqual([10, 300_000, 3_600_000])
    expect(config.alerts.maxFormationFailureRate).toBe(0.2)
    expect(config.performance.relativeAccuracy).toBe(0.01)
  })

  const bad: [ProcessorConfigInput, RegExp][] = [
    [{ applicationId: 'has space' }, /^applicationId: /],
    [{ inputTopics: { agent_events: '' } }, /^inputTopics\.agent_events: /],
    [{ outputTopics: { alerts: 'a/b' } }, /^outputTopics\.alerts: .*a topic name/],
    [{ dedupHorizonMs: 0 }, /^dedupHorizonMs: got 0/],
    [{ metricsWindowMs: 1.5 }, /^metricsWindowMs: /],
    [{ metricsGraceMs: -1 }, /^metricsGraceMs: .*zero or a positive/],
    [{ hoppingWindowMs: 60_000, hoppingAdvanceMs: 120_000 }, /^hoppingAdvanceMs: .*at most hoppingWindowMs/],
    [{ topN: 0 }, /^topN: .*1 to 1000/],
    [{ sessionGapMs: -5 }, /^sessionGapMs: /],
    [{ performance: { relativeAccuracy: 2 } }, /^performance\.relativeAccuracy: /],
    [{ alerts: { maxFormationFailureRate: 1.5 } }, /^alerts\.maxFormationFailureRate: /],
  ]
  for (const [input, message] of bad) {
    it(`refuses ${JSON.stringify(input)} naming the setting`, () => {
      expect(() => resolveProcessorConfig(input)).toThrow(ProcessorConfigError)
      expect(() => resolveProcessorConfig(input)).toThrow(message)
    })
  }
})

describe('PROCESSOR_CONFIG', () => {
  it('reads the settings of a JSON file, the rest staying at their defaults', () => {
    const path = file('ok.json', JSON.stringify({ metricsWindowMs: 30_000, alerts: { minFormations: 3 } }))
    const config = loadProcessorConfig(path)
    expect(config.metricsWindowMs).toBe(30_000)
    expect(config.alerts.minFormations).toBe(3)
    expect(config.alerts.maxFormationFailureRate).toBe(0.2)
    expect(loadProcessorConfig(undefined)).toEqual(resolveProcessorConfig())
  })

  it('refuses a misspelt setting instead of silently keeping its default', () => {
    const path = file('typo.json', JSON.stringify({ metricWindowMs: 30_000 }))
    expect(() => loadProcessorConfig(path)).toThrow(
      /typo\.json: metricWindowMs: .*expected one of .*metricsWindowMs/,
    )
  })

  it('names the file and the setting of a bad value, and refuses what is not a JSON object', () => {
    expect(() => loadProcessorConfig(file('bad.json', '{"topN": -1}'))).toThrow(/bad\.json: topN: got -1/)
    expect(() => loadProcessorConfig(file('array.json', '[]'))).toThrow(/one JSON object/)
    expect(() => loadProcessorConfig(file('broken.json', '{"topN":'))).toThrow(
      /PROCESSOR_CONFIG: .*readable JSON/,
    )
  })

  it('makes `agent-party run processor` exit 3 with the message, before connecting anywhere', async () => {
    let err = ''
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err += String(chunk)
      return true
    })
    vi.stubEnv('PROCESSOR_CONFIG', file('cli.json', '{"sessionGapMs": 0}'))
    expect(await run(['run', 'processor'])).toBe(EXIT.CONFIG)
    expect(err).toMatch(/cli\.json: sessionGapMs: got 0, expected a positive whole number/)
  })
})
