// The Agent Party topology's settings: topic names (tests prefix them), and what its rules need. Each
// bad value fails with a ProcessorConfigError naming the setting and the expected form.
import { type EventFamily, topicNames } from '../schemas/index.js'
import { OUTPUT_NAMES, OUTPUTS, type OutputName } from './outputs.js'

export interface ProcessorConfig {
  /** The consumer group; the operations guide's name by default. */
  readonly applicationId: string
  readonly inputTopics: Readonly<Record<EventFamily, string>>
  /** `agent_party.<name>` by default (processors/outputs.ts). */
  readonly outputTopics: Readonly<Record<OutputName, string>>
  /** How long (event time) a seen event id is remembered to drop a producer's retry. Default 1 h. */
  readonly dedupHorizonMs: number
  /** The business metrics' windows: size (default 1 min, tumbling) and grace (default 30 s). */
  readonly metricsWindowMs: number
  readonly metricsGraceMs: number
}

export interface ProcessorConfigInput {
  applicationId?: string
  inputTopics?: Partial<Record<EventFamily, string>>
  outputTopics?: Partial<Record<OutputName, string>>
  dedupHorizonMs?: number
  metricsWindowMs?: number
  metricsGraceMs?: number
}

export class ProcessorConfigError extends Error {
  readonly code = 'INVALID_CONFIG'
  constructor(
    readonly setting: string,
    given: unknown,
    expected: string,
  ) {
    super(`${setting}: got ${JSON.stringify(given)}, expected ${expected}`)
    this.name = 'ProcessorConfigError'
  }
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/

export function resolveProcessorConfig(input: ProcessorConfigInput = {}): ProcessorConfig {
  const applicationId = input.applicationId ?? 'agent_event_processor'
  if (!TOPIC.test(applicationId)) {
    throw new ProcessorConfigError('applicationId', applicationId, "letters, digits, '.', '_' or '-'")
  }
  const inputTopics = topicNames(input.inputTopics)
  for (const name of Object.keys(input.outputTopics ?? {})) {
    if (!Object.hasOwn(OUTPUTS, name)) {
      throw new ProcessorConfigError(`outputTopics.${name}`, name, `one of ${OUTPUT_NAMES.join(', ')}`)
    }
  }
  const outputTopics = Object.fromEntries(
    OUTPUT_NAMES.map((name) => [name, input.outputTopics?.[name] ?? OUTPUTS[name].topic]),
  ) as Record<OutputName, string>
  for (const [setting, topic] of [
    ...Object.entries(inputTopics).map(([f, t]) => [`inputTopics.${f}`, t]),
    ...Object.entries(outputTopics).map(([o, t]) => [`outputTopics.${o}`, t]),
  ]) {
    if (!TOPIC.test(topic as string)) {
      throw new ProcessorConfigError(
        setting as string,
        topic,
        "a topic name: 1-249 letters, digits, '.', '_' or '-'",
      )
    }
  }
  const dedupHorizonMs = input.dedupHorizonMs ?? 3_600_000
  if (!(Number.isInteger(dedupHorizonMs) && dedupHorizonMs > 0)) {
    throw new ProcessorConfigError(
      'dedupHorizonMs',
      dedupHorizonMs,
      'a positive whole number of milliseconds',
    )
  }
  const metricsWindowMs = input.metricsWindowMs ?? 60_000
  if (!(Number.isInteger(metricsWindowMs) && metricsWindowMs > 0)) {
    throw new ProcessorConfigError(
      'metricsWindowMs',
      metricsWindowMs,
      'a positive whole number of milliseconds',
    )
  }
  const metricsGraceMs = input.metricsGraceMs ?? 30_000
  if (!(Number.isInteger(metricsGraceMs) && metricsGraceMs >= 0)) {
    throw new ProcessorConfigError(
      'metricsGraceMs',
      metricsGraceMs,
      'zero or a positive whole number of milliseconds',
    )
  }
  return { applicationId, inputTopics, outputTopics, dedupHorizonMs, metricsWindowMs, metricsGraceMs }
}
