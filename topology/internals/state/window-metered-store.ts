// The outermost layer of a window store: the WindowStore processors hold. It turns window starts into
// (start, end = start + size) entries of the generic layers; timing, the flush listener and the
// emit-close marker come from MeteredWindowedStore.
import type { EngineMetrics } from '../../metrics.js'
import type { Windowed } from '../../windows/window.js'
import type { WindowStore } from '../../windows/window-store.js'
import type { EmitCloseMarker } from './emit-close-marker.js'
import { MeteredWindowedStore, toWindowed } from './metered-windowed-store.js'
import type { WindowCachingLayer } from './window-caching-layer.js'
import type { WindowLayer } from './window-layer.js'

export class MeteredWindowStore<K, V> extends MeteredWindowedStore<K, V> implements WindowStore<K, V> {
  constructor(
    inner: WindowLayer<K, V>,
    metrics: EngineMetrics,
    cache: WindowCachingLayer<K, V> | undefined,
    readonly windowSizeMs: number,
    retentionMs: number,
    marker?: EmitCloseMarker,
    persistent = false,
  ) {
    super(inner, metrics, cache, retentionMs, marker, persistent)
  }

  put(key: K, value: V | null, windowStart: number): void {
    this.putEntry(key, windowStart, windowStart + this.windowSizeMs, value)
  }

  fetch(key: K, windowStart: number): V | undefined {
    return this.getEntry(key, windowStart, windowStart + this.windowSizeMs)
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
}
