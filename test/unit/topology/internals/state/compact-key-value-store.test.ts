// The compact key-value store (values serialized in slots) must behave as the object store it replaces
// for stores with a value serde, whatever the sequence of writes; the object store is the model.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Serdes } from '../../../../../topology/index.js'
import { CompactKeyValueStore } from '../../../../../topology/internals/state/compact-key-value-store.js'
import { InMemoryKeyValueStore } from '../../../../../topology/internals/state/in-memory-key-value-store.js'
import { keyIdFunction } from '../../../../../topology/internals/state/key-id.js'
import type { KeyValueLayer } from '../../../../../topology/internals/state/key-value-layer.js'
import type { Serde } from '../../../../../topology/serdes.js'

const str = Serdes.String()

type Op =
  | { op: 'put'; key: string; value: string | null }
  | { op: 'putIfAbsent'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'get'; key: string }
  | { op: 'all' }

const key = fc.constantFrom('a', 'b', 'c', 'dd', 'é', '')
const value = fc.string({ maxLength: 60 })
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ op: fc.constant('put' as const), key, value: fc.option(value, { freq: 4 }) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('putIfAbsent' as const), key, value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
    { weight: 1, arbitrary: fc.constant({ op: 'all' as const }) },
  ),
  { maxLength: 400, size: 'max' },
)

function run(store: KeyValueLayer<string, string>, list: readonly Op[]): unknown[] {
  const seen: unknown[] = []
  for (const o of list) {
    if (o.op === 'put') store.put(o.key, o.value)
    else if (o.op === 'putIfAbsent') seen.push(store.putIfAbsent(o.key, o.value))
    else if (o.op === 'delete') seen.push(store.delete(o.key))
    else if (o.op === 'get') seen.push(store.get(o.key))
    // Iteration order is not part of the contract: compared sorted.
    else seen.push([...store.all()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    seen.push(store.approximateNumEntries())
  }
  return seen
}

const compact = (serde: Serde<string> = str) =>
  new CompactKeyValueStore<string, string>('s', keyIdFunction(str, 't'), 't', serde)

describe('CompactKeyValueStore', () => {
  it('behaves as the object store for any sequence of writes and reads', () => {
    fc.assert(
      fc.property(ops, (list) => {
        expect(run(compact(), list)).toEqual(
          run(new InMemoryKeyValueStore('s', keyIdFunction(str, 't')), list),
        )
      }),
      { numRuns: 300 },
    )
  })

  it('keeps structured keys as they were put, and finds them by value', () => {
    const json: Serde<{ id: number }> = {
      serialize: (_t, v) => Buffer.from(JSON.stringify(v)),
      deserialize: (_t, b) => JSON.parse(b.toString()),
    }
    const store = new CompactKeyValueStore<{ id: number }, string>('s', keyIdFunction(json, 't'), 't', str)
    store.put({ id: 1 }, 'one')
    expect(store.get({ id: 1 })).toBe('one')
    expect([...store.all()]).toEqual([[{ id: 1 }, 'one']])
  })

  it('never overwrites bytes that a value read earlier may keep a view of', () => {
    const view: Serde<Buffer> = { serialize: (_t, v) => v, deserialize: (_t, b) => b }
    const store = new CompactKeyValueStore<string, Buffer>('s', keyIdFunction(str, 't'), 't', view)
    store.put('a', Buffer.from('first'))
    const read = store.get('a')
    store.put('a', Buffer.from('other'))
    for (let i = 0; i < 2000; i++) store.put(`k${i}`, Buffer.alloc(i % 50, 1)) // rewrites the arena
    expect(read?.toString()).toBe('first')
    expect(store.get('a')?.toString()).toBe('other')
  })

  it('treats a value its serializer writes as null as a delete, and hands the change-logging layer the bytes', () => {
    const nullable: Serde<string> = {
      serialize: (t, v) => (v === 'none' ? null : str.serialize(t, v)),
      deserialize: (t, b) => str.deserialize(t, b),
    }
    const store = compact(nullable)
    store.put('a', 'x')
    expect(store.lastPutBytes?.toString()).toBe('x')
    store.put('a', 'none')
    expect(store.lastPutBytes).toBeNull()
    expect(store.get('a')).toBeUndefined()
    expect(store.approximateNumEntries()).toBe(0)
  })
})
