// The change-logging layer: every write becomes a changelog record on the task's partition, a delete a
// tombstone, stamped with the current record's timestamp.
import { describe, expect, it } from 'vitest'
import { buildKeyValueStore } from '../../../../../topology/internals/state/build-key-value-store.js'
import { ChangeLoggingKeyValueStore } from '../../../../../topology/internals/state/change-logging-key-value-store.js'
import { InMemoryKeyValueStore } from '../../../../../topology/internals/state/in-memory-key-value-store.js'
import { keyIdFunction } from '../../../../../topology/internals/state/key-id.js'
import { ObjectValues } from '../../../../../topology/internals/state/value-slots.js'
import { decodeChangelog, long, storeEnv, storeSpec, str } from './store-fixtures.js'

describe('ChangeLoggingKeyValueStore', () => {
  it('logs each write to the topic on the task partition, a tombstone for a delete', () => {
    const { env, collector } = storeEnv()
    const inner = new InMemoryKeyValueStore<string, number>(
      'counts',
      keyIdFunction(str, 't'),
      new ObjectValues<number>(),
    )
    const store = new ChangeLoggingKeyValueStore(inner, 'app-counts-changelog', str, long, env)
    store.put('a', 1)
    env.recordContext.current = { topic: 'in', partition: 3, offset: 8, timestamp: 2000, headers: new Map() }
    store.delete('a')
    const timestamps = collector.drain().map((r) => r.timestamp)
    expect(timestamps).toEqual([1000, 2000])
    store.put('b', 2)
    expect(inner.get('b')).toBe(2)
    expect(decodeChangelog(collector)).toEqual([['app-counts-changelog', 3, 'b', 2]])
  })

  it('is assembled as <app>-<store>-changelog, and is absent when logging is disabled', () => {
    const logged = storeEnv()
    const { store } = buildKeyValueStore<string, number>(storeSpec({ cachingEnabled: false }), logged.env)
    store.put('a', 1)
    store.delete('a')
    expect(decodeChangelog(logged.collector)).toEqual([
      ['app-counts-changelog', 3, 'a', 1],
      ['app-counts-changelog', 3, 'a', null],
    ])
    const unlogged = storeEnv()
    const built = buildKeyValueStore<string, number>(
      storeSpec({ cachingEnabled: false, loggingEnabled: false }),
      unlogged.env,
    )
    built.store.put('a', 1)
    expect(unlogged.collector.size).toBe(0)
    expect(built.changelogTopic).toBeUndefined()
  })
})
