// What the outermost layers of window and session stores share: timing operations when metrics are on,
// registering a processor's flush listener with the cache, the emit-close marker kept with the store,
// reads of every entry, flush and close over the generic window layers.
import type { EngineMetrics, StoreOperation } from '../../metrics.js'
import { Window, Windowed } from '../../windows/window.js'
import { EmitCloseMarker } from './emit-close-marker.js'
import type { WindowCachingLayer } from './window-caching-layer.js'
import type { TimedEntry, WindowFlushListener, WindowLayer } from './window-layer.js'

export function toWindowed<K, V>(e: TimedEntry<K, V>): readonly [Windowed<K>, V] {
  return [new Windowed(e.key, new Window(e.start, e.end)), e.value]
}

export abstract class MeteredWindowedStore<K, V> {
  constructor(
    protected readonly inner: WindowLayer<K, V>,
    private readonly metrics: EngineMetrics,
    private readonly cache: WindowCachingLayer<K, V> | undefined,
    readonly retentionMs: number,
    private readonly marker: EmitCloseMarker = new EmitCloseMarker(),
    /** True when the entries live in LMDB (a checkpoint can spare their restore). */
    readonly persistent = false,
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

  all(): Array<readonly [Windowed<K>, V]> {
    return this.inner.fetchByEnd(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY).map(toWindowed)
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }

  approximateBytes(): number {
    return this.inner.approximateBytes()
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

  protected putEntry(key: K, start: number, end: number, value: V | null): void {
    if (!this.metrics.enabled) {
      this.inner.put(key, start, end, value)
      return
    }
    const t = performance.now()
    this.inner.put(key, start, end, value)
    this.#record(value === null ? 'delete' : 'put', t)
  }

  protected getEntry(key: K, start: number, end: number): V | undefined {
    if (!this.metrics.enabled) return this.inner.get(key, start, end)
    const t = performance.now()
    const value = this.inner.get(key, start, end)
    this.#record('get', t)
    return value
  }

  #record(operation: StoreOperation, start: number): void {
    this.metrics.storeOperation(this.name, operation, performance.now() - start)
  }
}
