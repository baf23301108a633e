// The store interfaces windowed processors see (Kafka Streams' WindowStore and SessionStore). A window
// store is keyed by (key, window start), its windows all of one size; a session store by (key, session
// start, session end). Both forget windows as stream time passes their retention, and results come back
// as arrays, ascending by window start (then end).
import type { StateStore } from '../state-store.js'
import type { Window, Windowed } from './window.js'

export interface WindowStore<K, V> extends StateStore {
  readonly windowSizeMs: number
  readonly retentionMs: number
  /** `null` deletes (a tombstone in the changelog). A write to an already expired window is dropped. */
  put(key: K, value: V | null, windowStart: number): void
  fetch(key: K, windowStart: number): V | undefined
  /** The windows of `key` starting in [timeFrom, timeTo], ascending by start. */
  fetchRange(key: K, timeFrom: number, timeTo: number): Array<readonly [start: number, value: V]>
  /** The windows of every key starting in [timeFrom, timeTo]. */
  fetchAll(timeFrom: number, timeTo: number): Array<readonly [Windowed<K>, V]>
  all(): Array<readonly [Windowed<K>, V]>
  approximateNumEntries(): number
}

export interface SessionStore<K, V> extends StateStore {
  readonly retentionMs: number
  /** `null` removes the session. A write to an already expired session is dropped. */
  put(key: K, session: Window, value: V | null): void
  remove(key: K, session: Window): void
  fetchSession(key: K, sessionStart: number, sessionEnd: number): V | undefined
  /** Sessions of `key` with end >= earliestSessionEnd and start <= latestSessionStart (Kafka's findSessions). */
  findSessions(
    key: K,
    earliestSessionEnd: number,
    latestSessionStart: number,
  ): Array<readonly [Windowed<K>, V]>
  /** Sessions of every key ending in [endFrom, endTo]. */
  findSessionsByEnd(endFrom: number, endTo: number): Array<readonly [Windowed<K>, V]>
  all(): Array<readonly [Windowed<K>, V]>
  approximateNumEntries(): number
}
