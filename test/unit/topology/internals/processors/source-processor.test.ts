// The source's decoding: timestamp extractors (event time from the record, partition time), and
// invalid timestamps that go to the dead-letter path instead of being dropped or failing the task.
import { describe, expect, it } from 'vitest'
import {
  type ProcessorContext,
  Serdes,
  StreamsBuilder,
  TopologyTestDriver,
} from '../../../../../topology/index.js'

const str = Serdes.String()
const json = Serdes.Json<{ at: number; n: number }>()

function topology(extract?: (value: { at: number; n: number }, partitionTime: number) => number) {
  const seen: string[] = []
  const b = new StreamsBuilder()
  b.stream<string, { at: number; n: number }>('in', {
    keySerde: str,
    valueSerde: json,
    ...(extract ? { timestampExtractor: (r, partitionTime) => extract(r.value, partitionTime) } : {}),
  }).process(() => {
    let ctx: ProcessorContext<never, never>
    return {
      init: (c) => {
        ctx = c
      },
      process: (r) => {
        seen.push(
          `${r.value.n} t=${r.timestamp} ctx=${ctx.recordContext()?.timestamp} st=${ctx.currentStreamTimeMs()}`,
        )
      },
    }
  })
  return { topology: b.build(), seen }
}

describe('SourceProcessor decoding', () => {
  it('uses the record timestamp by default', () => {
    const { topology: t, seen } = topology()
    const driver = new TopologyTestDriver(t)
    driver.createInputTopic('in', str, json).pipeInput('k', { at: 5, n: 1 }, 100)
    expect(seen).toEqual(['1 t=100 ctx=100 st=100'])
  })

  it('takes event time from the extractor, in the record, its context and stream time', () => {
    const partitionTimes: number[] = []
    const { topology: t, seen } = topology((v, pt) => {
      partitionTimes.push(pt)
      return v.at
    })
    const driver = new TopologyTestDriver(t)
    const input = driver.createInputTopic('in', str, json)
    input.pipeInput('k', { at: 5, n: 1 }, 100)
    input.pipeInput('k', { at: 3, n: 2 }, 200)
    expect(seen).toEqual(['1 t=5 ctx=5 st=5', '2 t=3 ctx=3 st=5'])
    expect(partitionTimes).toEqual([-1, 5])
  })

  it('dead-letters a record whose timestamp is negative, NaN or whose extractor throws', () => {
    const { topology: t, seen } = topology((v) => {
      if (v.at === 99) throw new Error('no time')
      return v.at
    })
    const driver = new TopologyTestDriver(t)
    const input = driver.createInputTopic('in', str, json)
    input.pipeInput('k', { at: -1, n: 1 })
    input.pipeInput('k', { at: Number.NaN, n: 2 })
    input.pipeInput('k', { at: 99, n: 3 })
    input.pipeInput('k', { at: 7, n: 4 })
    expect(seen).toEqual(['4 t=7 ctx=7 st=7'])
    const letters = driver.readDeadLetters()
    expect(letters.map((l) => [l.record.offset, l.cause.code])).toEqual([
      [0, 'INVALID_TIMESTAMP'],
      [1, 'INVALID_TIMESTAMP'],
      [2, 'INVALID_TIMESTAMP'],
    ])
    expect(letters[0]?.cause.reason).toMatch(/invalid timestamp -1/)
    expect(letters[2]?.cause.reason).toMatch(/the timestamp extractor threw: no time/)
  })

  it('dead-letters a negative record timestamp without an extractor', () => {
    const { topology: t, seen } = topology()
    const driver = new TopologyTestDriver(t)
    driver.createInputTopic('in', str, json).pipeInput('k', { at: 0, n: 1 }, -5)
    expect(seen).toEqual([])
    expect(driver.readDeadLetters()[0]?.cause.code).toBe('INVALID_TIMESTAMP')
  })

  it('fails the task on an invalid timestamp when the handler says fail', () => {
    const { topology: t } = topology()
    const driver = new TopologyTestDriver(t, { deserializationExceptionHandler: 'fail' })
    expect(() => driver.createInputTopic('in', str, json).pipeInput('k', { at: 0, n: 1 }, -5)).toThrow(
      /SERIALIZATION_FAILED: .*invalid timestamp -5/,
    )
  })
})
