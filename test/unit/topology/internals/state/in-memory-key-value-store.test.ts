// The innermost key-value store, with its values kept serialized (every store with a value serde) or as
// objects: both behave as a plain Map for any sequence of writes and reads.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Serdes } from '../../../../../topology/index.js'
import { InMemoryKeyValueStore } from '../../../../../topology/internals/state/in-memory-key-value-store.js'
import { keyIdFunction } from '../../../../../topology/internals/state/key-id.js'
import { ObjectValues, SerializedValues } from '../../../../../topology/internals/state/value-slots.js'
import type { Serde } from '../../../../../topology/serdes.js'
import { model, ops, run } from './store-fixtures.js'

const str = Serdes.String()

const serialized = (serde: Serde<string> = str) =>
  new InMemoryKeyValueStore<string, string, Buffer>(
    's',
    keyIdFunction(str, 't'),
    new SerializedValues(serde, 't'),
  )

describe('InMemoryKeyValueStore', () => {
  for (const [kept, make] of [
    ['serialized', () => serialized()],
    [
      'as objects',
      () =>
        new InMemoryKeyValueStore<string, string>('s', keyIdFunction(str, 't'), new ObjectValues<string>()),
    ],
  ] as const)
    it(`with values kept ${kept}, behaves as a Map for any sequence of writes and reads`, () => {
      fc.assert(
        fc.property(ops, (list) => {
          expect(run(make(), list)).toEqual(model(list))
        }),
        { numRuns: 300 },
      )
    })

  it('keeps structured keys as they were put, and finds them by value', () => {
    const json = Serdes.Json<{ id: number }>()
    const store = new InMemoryKeyValueStore<{ id: number }, string, Buffer>(
      's',
      keyIdFunction(json, 't'),
      new SerializedValues(str, 't'),
    )
    store.put({ id: 1 }, 'one')
    expect(store.get({ id: 1 })).toBe('one')
    expect(store.putIfAbsent({ id: 1 }, 'uno')).toBe('one')
    expect([...store.all()]).toEqual([[{ id: 1 }, 'one']])
    expect(store.delete({ id: 1 })).toBe('one')
    expect(store.approximateNumEntries()).toBe(0)
  })

  it('never overwrites bytes that a value read earlier may keep a view of', () => {
    const view: Serde<Buffer> = { serialize: (_t, v) => v, deserialize: (_t, b) => b }
    const store = new InMemoryKeyValueStore<string, Buffer, Buffer>(
      's',
      keyIdFunction(str, 't'),
      new SerializedValues(view, 't'),
    )
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
    const store = serialized(nullable)
    store.put('a', 'x')
    expect(store.lastPutBytes?.toString()).toBe('x')
    store.put('a', 'none')
    expect(store.lastPutBytes).toBeNull()
    expect(store.get('a')).toBeUndefined()
    expect(store.approximateNumEntries()).toBe(0)
  })

  it('keeps objects as they were put when it has no serde', () => {
    const value = { nested: [1, 2] }
    const store = new InMemoryKeyValueStore<string, typeof value>(
      's',
      keyIdFunction(str, 't'),
      new ObjectValues<typeof value>(),
    )
    store.put('a', value)
    expect(store.get('a')).toBe(value)
    expect(store.lastPutBytes).toBeUndefined()
  })
})
