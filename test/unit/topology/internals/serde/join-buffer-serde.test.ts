// The changelog layouts of the stream-stream join buffers round-trip, empty values included.
import { describe, expect, it } from 'vitest'
import { Serdes } from '../../../../../topology/index.js'
import { listSerde, unmatchedSerde } from '../../../../../topology/internals/serde/join-buffer-serde.js'

describe('join buffer serdes', () => {
  it('a list of values', () => {
    const serde = listSerde(Serdes.String())
    for (const values of [[], ['a'], ['', 'bc', 'déf']])
      expect(serde.deserialize('t', serde.serialize('t', values) as Buffer)).toEqual(values)
  })

  it('unmatched records of both sides, each with its own serde', () => {
    const serde = unmatchedSerde(Serdes.String(), Serdes.Number())
    const records = [
      { left: true, value: 'A' },
      { left: false, value: 42 },
      { left: true, value: '' },
    ]
    expect(serde.deserialize('t', serde.serialize('t', records) as Buffer)).toEqual(records)
  })
})
