import { murmur2 as clientMurmur2 } from '@platformatic/kafka'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyPartitioner, murmur2 } from '../../../kafka/murmur2.js'

describe('murmur2', () => {
  it("gives Java's hashes (Kafka's UtilsTest vectors)", () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ]
    for (const [input, hash] of cases) expect(murmur2(Buffer.from(input)), input).toBe(hash)
  })

  it("equals the client's BigInt port for any bytes, every length modulo 4", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(murmur2(Buffer.from(bytes))).toBe(clientMurmur2(Buffer.from(bytes)))
      }),
      { numRuns: 2000 },
    )
  })

  it('places a keyed record by the positive hash, a record without a key on partition 0', () => {
    const key = Buffer.from('agent-42')
    expect(keyPartitioner(undefined, key)).toBe(clientMurmur2(key) & 0x7fffffff)
    expect(keyPartitioner(undefined, key)).toBeGreaterThanOrEqual(0)
    expect(keyPartitioner(undefined, undefined)).toBe(0)
  })
})
