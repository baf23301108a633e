// The stable primitive form of a key that the in-memory store and the cache index by. Primitive keys are
// their own id (no work per access); structured keys go through the key serde once per access (or JSON
// when the store has no serde), because JavaScript Maps compare objects by identity.
import type { Serde } from '../../serdes.js'

export type KeyId = string | number | boolean | bigint | null | undefined

export type KeyIdOf<K> = (key: K) => KeyId

export function keyIdFunction<K>(keySerde: Serde<K> | undefined, topic: string): KeyIdOf<K> {
  return (key: K): KeyId => {
    if (typeof key !== 'object' || key === null) return key as KeyId
    if (keySerde === undefined) return JSON.stringify(key)
    return keySerde.serialize(topic, key)?.toString('latin1') ?? null
  }
}
