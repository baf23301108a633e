// Which archive manifests are read and which are refused (a refused one stops the sink: fatal).
import { describe, expect, it } from 'vitest'
import { ArchiveFormatError } from '../../../../sinks/s3/archive-format.js'
import { emptyManifest, parseManifest } from '../../../../sinks/s3/manifest.js'

describe('parseManifest', () => {
  const body = (m: unknown) => Buffer.from(JSON.stringify(m))
  const range = (first: number, last: number) => ({
    first,
    last,
    records: 1,
    bytes: 1,
    sha256: 'x',
    key: `t/0/${first}`,
    minTimestamp: 0,
    maxTimestamp: 0,
  })

  it('reads a valid manifest, also with a gap left by a range that held no record', () => {
    const gap = { ...emptyManifest('t', 0), last: 40, ranges: [range(0, 9), range(15, 20)], pending: null }
    expect(parseManifest(body(gap), 't', 0, 'k')).toEqual(gap)
    const m = {
      ...emptyManifest('t', 0),
      last: 20,
      ranges: [range(0, 9), range(10, 20)],
      pending: { first: 21, last: 30 },
    }
    expect(parseManifest(body(m), 't', 0, 'k')).toEqual(m)
  })

  it('refuses overlapping ranges, a wrong partition, a pending cut that does not follow', () => {
    const base = emptyManifest('t', 0)
    expect(() =>
      parseManifest(body({ ...base, last: 20, ranges: [range(0, 9), range(9, 20)] }), 't', 0, 'k'),
    ).toThrow(/overlaps/)
    expect(() => parseManifest(body(base), 't', 1, 'k')).toThrow(/names t-0/)
    expect(() =>
      parseManifest(
        body({ ...base, last: 9, ranges: [range(0, 9)], pending: { first: 12, last: 20 } }),
        't',
        0,
        'k',
      ),
    ).toThrow(/pending/)
    expect(() => parseManifest(Buffer.from('{'), 't', 0, 'k')).toThrow(ArchiveFormatError)
  })
})
