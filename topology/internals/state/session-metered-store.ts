// The outermost layer of a session store: the SessionStore processors hold, over the generic window
// layers keyed by (key, session start, session end); timing, the flush listener and the emit-close
// marker come from MeteredWindowedStore.
import type { Window, Windowed } from '../../windows/window.js'
import type { SessionStore } from '../../windows/window-store.js'
import { MeteredWindowedStore, toWindowed } from './metered-windowed-store.js'

export class MeteredSessionStore<K, V> extends MeteredWindowedStore<K, V> implements SessionStore<K, V> {
  put(key: K, session: Window, value: V | null): void {
    this.putEntry(key, session.start, session.end, value)
  }

  remove(key: K, session: Window): void {
    this.put(key, session, null)
  }

  fetchSession(key: K, sessionStart: number, sessionEnd: number): V | undefined {
    return this.getEntry(key, sessionStart, sessionEnd)
  }

  findSessions(
    key: K,
    earliestSessionEnd: number,
    latestSessionStart: number,
  ): Array<readonly [Windowed<K>, V]> {
    const out: Array<readonly [Windowed<K>, V]> = []
    for (const e of this.inner.fetchKey(key))
      if (e.end >= earliestSessionEnd && e.start <= latestSessionStart) out.push(toWindowed(e))
    return out
  }

  findSessionsByEnd(endFrom: number, endTo: number): Array<readonly [Windowed<K>, V]> {
    return this.inner.fetchByEnd(endFrom, endTo).map(toWindowed)
  }
}
