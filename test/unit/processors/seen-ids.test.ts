// The compact index of event ids that deduplication keeps: it must answer exactly as a Map of the ids
// would (no id forgotten early, none taken for another), through growth, expiry and a restore, and its
// stored values must be what processors/seen-ids.ts documents for readers in other languages.
import { describe, expect, it } from 'vitest'
import { decodeSeenIds, fromStored, SeenIds } from '../../../processors/seen-ids.js'
import { Prng } from '../../../schemas/generator/prng.js'

/** Ids of every shape an `event_id` string can take: canonical UUIDs and anything else. */
function idOf(prng: Prng, n: number): string {
  switch (n % 6) {
    case 0:
    case 1:
    case 2:
      return prng.uuid()
    case 3:
      return prng.uuid().toUpperCase() // not canonical: kept as text, distinct from its lowercase form
    case 4:
      return `retry-${n}-é✓` // not ASCII
    default:
      return n % 12 === 5 ? '' : `${prng.uuid()}x` // 37 characters, and the empty id
  }
}

describe('SeenIds', () => {
  it('answers as a Map of the ids would, through growth, expiry of buckets and a restore', () => {
    const prng = new Prng('seen-ids')
    const ids = new SeenIds()
    const reference = new Map<string, number>() // id → its bucket
    const all: string[] = []
    for (let n = 0; n < 60_000; n++) {
      const bucket = Math.floor(n / 500) * 1000
      // One in ten is a repeat of an id seen before (maybe forgotten since).
      const id = n % 10 === 9 && all.length > 0 ? (all[prng.int(0, all.length - 1)] as string) : idOf(prng, n)
      const known = reference.has(id)
      if (ids.remember(id, bucket) === known) expect.fail(`remember(${id}) at ${n} answered ${known}`)
      if (!known) {
        reference.set(id, bucket)
        all.push(id)
      }
      if (n % 5000 === 4999) {
        // Forget the buckets older than 20 s, as the punctuator does.
        for (const start of [...ids.starts()]) if (start < bucket - 20_000) ids.forget(start)
        for (const [known, at] of reference) if (at < bucket - 20_000) reference.delete(known)
        ids.trim(5000)
      }
    }
    expect(ids.size).toBe(reference.size)
    const answers = all.map((id) => reference.has(id))
    expect(all.map((id) => ids.has(id))).toEqual(answers)

    // A restore from the stored values alone answers the same.
    const restored = new SeenIds()
    for (const start of ids.starts()) restored.load(start, Buffer.from(ids.value(start) as Buffer))
    expect(restored.size).toBe(reference.size)
    expect(all.map((id) => restored.has(id))).toEqual(answers)
    const stored = new Map(
      [...ids.starts()].map((start) => [start, decodeSeenIds(ids.value(start) as Buffer)]),
    )
    const expected = new Map<number, string[]>()
    for (const [id, at] of reference) expected.set(at, [...(expected.get(at) ?? []), id])
    expect(stored).toEqual(expected)

    // Everything forgotten: the table shrinks back and holds nothing.
    for (const start of [...ids.starts()]) ids.forget(start)
    expect(ids.size).toBe(0)
    expect(all.filter((id) => ids.has(id))).toEqual([])
  })

  it('stores a canonical UUID in 16 bytes and any other id as UTF-8 text with its length', () => {
    const ids = new SeenIds()
    ids.remember('0f213fd7-7c41-46d6-9440-b2c2ee39dab9', 0)
    ids.remember('é', 0)
    expect([...(ids.value(0) as Buffer)]).toEqual([
      1, // the format
      0, // a UUID's 16 bytes
      ...Buffer.from('0f213fd77c4146d69440b2c2ee39dab9', 'hex'),
      1, // text: its UTF-8 length (32-bit little-endian) and bytes
      2,
      0,
      0,
      0,
      0xc3,
      0xa9,
    ])
  })

  it('keeps an id seen again in another bucket of a restore where it was first, and forgets it with that bucket', () => {
    const ids = new SeenIds()
    const id = '5e1fb87d-f70b-406e-bb97-66e856d7dbef'
    ids.load(1000, Buffer.from(JSON.stringify([id])))
    ids.load(2000, Buffer.from(JSON.stringify([id, 'b'])))
    expect(ids.size).toBe(2)
    ids.forget(2000)
    expect(ids.has(id)).toBe(true)
    expect(ids.has('b')).toBe(false)
    ids.forget(1000)
    expect(ids.has(id)).toBe(false)
  })

  it('reads an earlier version’s JSON arrays and refuses a value of no known format', () => {
    expect(decodeSeenIds(Buffer.from('["a","5e1fb87d-f70b-406e-bb97-66e856d7dbef"]'))).toEqual([
      'a',
      '5e1fb87d-f70b-406e-bb97-66e856d7dbef',
    ])
    expect(() => fromStored(Buffer.from('{"a":1}'))).toThrow(/unknown value format \(first byte 123\)/)
    expect(() => fromStored(Buffer.from('[1,2]'))).toThrow(/not an array of ids/)
  })
})
