// The outermost layer of a session store: the SessionStore processors hold, over the generic window
// layers keyed by (key, session start, session end). Times operations when metrics are on and registers
// a processor's flush listener with the cache, answering whether there is one.

import type { EngineMetrics, StoreOperation } from '../../metrics.js'
import type { Window, Windowed } from '../../windows/window.js'
import type { SessionStore } from '../../windows/window-store.js'
import { EmitCloseMarker } from './emit-close-marker.js'
import type { WindowCachingLayer } from './window-caching-layer.js'
import type { WindowFlushListener, WindowLayer } from './window-layer.js'
import { toWindowed } from './window-metered-store.js'

export class MeteredSessionStore<K, V> implements SessionStore<K, V> {
  readonly persistent = false

  constructor(
    private readonly inner: WindowLayer<K, V>,
    private readonly metrics: EngineMetrics,
    private readonly cache: WindowCachingLayer<K, V> | undefined,
    readonly retentionMs: number,
    private readonly marker: EmitCloseMarker = new EmitCloseMarker(),
  ) {}

  /**
   * The aggregate processor's stream time and, for emit final, the close time it has emitted up to, as
   * restored from the changelog (undefined: never set). Kept with the store so that they are logged and
   * restored with it; see emit-close-marker.ts.
   */
  get processorMarker(): EmitCloseMarker {
    return this.marker
  }

  get name(): string {
    return this.inner.name
  }

  setFlushListener(listener: WindowFlushListener<K, V>): boolean {
    if (this.cache === undefined) return false
    this.cache.setFlushListener(listener)
    return true
  }

  put(key: K, session: Window, value: V | null): void {
    if (!this.metrics.enabled) {
      this.inner.put(key, session.start, session.end, value)
      return
    }
    const t = performance.now()
    this.inner.put(key, session.start, session.end, value)
    this.#record(value === null ? 'delete' : 'put', t)
  }

  remove(key: K, session: Window): void {
    this.put(key, session, null)
  }

  fetchSession(key: K, sessionStart: number, sessionEnd: number): V | undefined {
    if (!this.metrics.enabled) return this.inner.get(key, sessionStart, sessionEnd)
    const t = performance.now()
    const value = this.inner.get(key, sessionStart, sessionEnd)
    this.#record('get', t)
    return value
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

  all(): Array<readonly [Windowed<K>, V]> {
    return this.inner.fetchByEnd(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY).map(toWindowed)
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }

  flush(): void {
    if (!this.metrics.enabled) {
      this.inner.flush()
      return
    }
    const t = performance.now()
    this.inner.flush()
    this.#record('flush', t)
  }

  close(): void {
    this.inner.close()
  }

  #record(operation: StoreOperation, start: number): void {
    this.metrics.storeOperation(this.name, operation, performance.now() - start)
  }
}
