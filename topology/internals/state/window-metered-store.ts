// The outermost layer of a window store: the WindowStore processors hold. It turns window starts into
// (start, end = start + size) entries of the generic layers, times operations when metrics are on, and
// registers a processor's flush listener with the cache, answering whether there is one.

import type { EngineMetrics, StoreOperation } from '../../metrics.js'
import { Window, Windowed } from '../../windows/window.js'
import type { WindowStore } from '../../windows/window-store.js'
import { EmitCloseMarker } from './emit-close-marker.js'
import type { WindowCachingLayer } from './window-caching-layer.js'
import type { TimedEntry, WindowFlushListener, WindowLayer } from './window-layer.js'

export class MeteredWindowStore<K, V> implements WindowStore<K, V> {
  readonly persistent = false

  constructor(
    private readonly inner: WindowLayer<K, V>,
    private readonly metrics: EngineMetrics,
    private readonly cache: WindowCachingLayer<K, V> | undefined,
    readonly windowSizeMs: number,
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

  /** Returns true when a cache will call the listener on flush (and the caller must not forward itself). */
  setFlushListener(listener: WindowFlushListener<K, V>): boolean {
    if (this.cache === undefined) return false
    this.cache.setFlushListener(listener)
    return true
  }

  put(key: K, value: V | null, windowStart: number): void {
    if (!this.metrics.enabled) {
      this.inner.put(key, windowStart, windowStart + this.windowSizeMs, value)
      return
    }
    const t = performance.now()
    this.inner.put(key, windowStart, windowStart + this.windowSizeMs, value)
    this.#record(value === null ? 'delete' : 'put', t)
  }

  fetch(key: K, windowStart: number): V | undefined {
    if (!this.metrics.enabled) return this.inner.get(key, windowStart, windowStart + this.windowSizeMs)
    const t = performance.now()
    const value = this.inner.get(key, windowStart, windowStart + this.windowSizeMs)
    this.#record('get', t)
    return value
  }

  fetchRange(key: K, timeFrom: number, timeTo: number): Array<readonly [number, V]> {
    const out: Array<readonly [number, V]> = []
    for (const e of this.inner.fetchKey(key))
      if (e.start >= timeFrom && e.start <= timeTo) out.push([e.start, e.value])
    return out
  }

  fetchAll(timeFrom: number, timeTo: number): Array<readonly [Windowed<K>, V]> {
    const size = this.windowSizeMs
    return this.inner.fetchByEnd(timeFrom + size, timeTo + size).map(toWindowed)
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

export function toWindowed<K, V>(e: TimedEntry<K, V>): readonly [Windowed<K>, V] {
  return [new Windowed(e.key, new Window(e.start, e.end)), e.value]
}
