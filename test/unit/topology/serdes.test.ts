// The builtin serdes round-trip, with Kafka's byte layouts for Long and Number.
import { describe, expect, it } from 'vitest'
import { Change, Serdes } from '../../../topology/index.js'
import { changeSerde } from '../../../topology/internals/serde/change-serde.js'

describe('Serdes', () => {
  it('round-trips strings, numbers, longs, buffers and JSON', () => {
    const cases: [
      { serialize(t: string, v: never): Buffer | null; deserialize(t: string, b: Buffer): unknown },
      unknown,
    ][] = [
      [Serdes.String(), 'héllo'],
      [Serdes.Number(), -1.5],
      [Serdes.Long(), 2 ** 40],
      [Serdes.Buffer(), Buffer.from([1, 2])],
      [Serdes.Json(), { a: [1, 'x'] }],
    ]
    for (const [serde, value] of cases) {
      expect(serde.deserialize('t', serde.serialize('t', value as never) as Buffer)).toEqual(value)
    }
  })

  it('encodes Long as a big-endian int64 and refuses unsafe integers', () => {
    const long = Serdes.Long()
    expect(long.serialize('t', 1)?.toString('hex')).toBe('0000000000000001')
    expect(long.serialize('t', -2)?.toString('hex')).toBe('fffffffffffffffe')
    for (const v of [0, -1, 2 ** 32, -(2 ** 32) - 7, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      const bytes = long.serialize('t', v) as Buffer
      expect(bytes.readBigInt64BE(0)).toBe(BigInt(v))
      expect(long.deserialize('t', bytes)).toBe(v)
    }
    expect(() => Serdes.Long().serialize('t', 2 ** 60)).toThrow(/SERIALIZATION_FAILED/)
  })

  it('frames a table change with both sides', () => {
    const serde = changeSerde(Serdes.String())
    for (const change of [
      new Change('new', 'old'),
      new Change(null, 'old'),
      new Change('new', null),
      new Change('', ''),
    ]) {
      expect(serde.deserialize('t', serde.serialize('t', change) as Buffer)).toEqual(change)
    }
  })
})
