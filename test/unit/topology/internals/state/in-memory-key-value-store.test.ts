// The innermost layer: objects in a Map by a stable key id.
import { describe, expect, it } from 'vitest'
import { Serdes } from '../../../../../topology/index.js'
import { InMemoryKeyValueStore } from '../../../../../topology/internals/state/in-memory-key-value-store.js'
import { keyIdFunction } from '../../../../../topology/internals/state/key-id.js'

describe('InMemoryKeyValueStore', () => {
  it('keeps objects by a stable id, including structured keys', () => {
    const store = new InMemoryKeyValueStore<{ id: number }, string>(
      's',
      keyIdFunction(Serdes.Json<{ id: number }>(), 't'),
    )
    store.put({ id: 1 }, 'one')
    expect(store.get({ id: 1 })).toBe('one')
    expect(store.putIfAbsent({ id: 1 }, 'uno')).toBe('one')
    expect([...store.all()]).toEqual([[{ id: 1 }, 'one']])
    expect(store.delete({ id: 1 })).toBe('one')
    expect(store.approximateNumEntries()).toBe(0)
  })

  it('treats a null put as a delete', () => {
    const store = new InMemoryKeyValueStore<string, number>('s', keyIdFunction(Serdes.String(), 't'))
    store.put('a', 1)
    store.put('a', null)
    expect(store.get('a')).toBeUndefined()
    expect(store.approximateNumEntries()).toBe(0)
  })
})
