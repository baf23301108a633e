// The generator's record stream: the platform simulation, then the disorder stage, cut at the
// requested count. A pure function of the options: same seed, baseTime and options, same records.
import { DisorderStage, type GeneratedRecord } from './disorder-stage.js'
import {
  type GeneratorOptions,
  type ResolvedGeneratorOptions,
  resolveGeneratorOptions,
} from './generator-options.js'
import { PlatformSimulator } from './platform-simulator.js'

export function* generateRecords(
  options: GeneratorOptions | ResolvedGeneratorOptions,
): Generator<GeneratedRecord> {
  const resolved = 'paced' in options ? options : resolveGeneratorOptions(options)
  const simulator = new PlatformSimulator(resolved.seed, resolved)
  const disorder = new DisorderStage(resolved.seed, resolved)
  const due: GeneratedRecord[] = []
  let written = 0
  // Stop taking new events once those written and those held back make up the count.
  while (written + disorder.pending < resolved.count) {
    disorder.push(simulator.next(), due)
    for (const record of due) {
      if (written === resolved.count) return
      yield record
      written++
    }
    due.length = 0
  }
  disorder.flush(due)
  for (const record of due) {
    if (written === resolved.count) return
    yield record
    written++
  }
}
