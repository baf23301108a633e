// Seeded fuzzing of the decode path: per family and encoding, 20,000 random byte strings and 20,000
// single-byte mutations or truncations of valid encoded events (agent_events: half of them written
// with v1, read through a resolver). Every decode must return a value or throw a DecodeError: never
// another error, never hang. The fuzzer runs in a worker thread (fixtures/in-worker.ts), so that a
// decode that never ends fails the test at vitest's timeout instead of hanging the run.
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { EVENT_FAMILIES, SCHEMA_ENCODINGS } from '../../../../schemas/index.js'
import type { FuzzOptions, FuzzReport } from '../fixtures/decode-fuzz.js'
import { inWorker, stopWorker, stopWorkerIfBusy } from '../fixtures/in-worker.js'

const FIXTURE = new URL('../fixtures/decode-fuzz.ts', import.meta.url)
const RANDOM_INPUTS = 20_000
const MUTATIONS = 20_000

afterEach(stopWorkerIfBusy)
afterAll(stopWorker)

describe.each(SCHEMA_ENCODINGS)('%s encoding', (encoding) => {
  it.each(EVENT_FAMILIES)(
    '%s: every decode returns a value or throws a DecodeError',
    async (family) => {
      const options: FuzzOptions = {
        encoding,
        family,
        seed: 'decode-fuzz-1',
        randomInputs: RANDOM_INPUTS,
        mutations: MUTATIONS,
      }
      const report = await inWorker<FuzzReport>(FIXTURE, 'fuzzDecodes', options)
      expect(report.foreign).toEqual([])
      expect(report.decodes).toBe(RANDOM_INPUTS + MUTATIONS)
      const errors = Object.values(report.codes).reduce((sum, n) => sum + n, 0)
      expect(report.values + errors).toBe(report.decodes)
      // The inputs reach the body: some still decode, many end early or are malformed.
      expect(report.values).toBeGreaterThan(0)
      expect(report.codes.TRUNCATED).toBeGreaterThan(0)
      expect(report.codes.MALFORMED_BODY).toBeGreaterThan(0)
      if (family === 'agent_events') expect(report.resolvedSeeds).toBeGreaterThan(0)
    },
    120_000,
  )
})
