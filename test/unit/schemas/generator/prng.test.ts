import { describe, expect, it } from 'vitest'
import { Prng } from '../../../../schemas/generator/prng.js'

const draws = (prng: Prng, n: number) => Array.from({ length: n }, () => prng.nextUint32())

describe('Prng', () => {
  it('gives the same sequence for the same seed, another for another seed or label', () => {
    expect(draws(new Prng(42), 50)).toEqual(draws(new Prng(42), 50))
    expect(draws(new Prng(42), 50)).not.toEqual(draws(new Prng(43), 50))
    expect(draws(Prng.derive(42, 'a'), 50)).not.toEqual(draws(Prng.derive(42, 'b'), 50))
  })

  it('is pinned: these values must not change, or every fixture changes', () => {
    expect(draws(new Prng(1), 3)).toEqual([663261097, 853986954, 1331713668])
  })

  it('draws version-4 UUIDs', () => {
    const prng = new Prng('uuid')
    for (let i = 0; i < 100; i++)
      expect(prng.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('keeps int() within bounds and reaches both ends', () => {
    const prng = new Prng(7)
    const seen = new Set(Array.from({ length: 1000 }, () => prng.int(1, 4)))
    expect([...seen].sort()).toEqual([1, 2, 3, 4])
  })
})
