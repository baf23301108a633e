// When a windowed aggregation forwards its results (Kafka Streams' EmitStrategy): on every update of a
// window (through the store's cache when caching is on), or once per window when it closes (end + grace
// <= stream time; sessions: end < stream time - gap - grace), as `suppress(untilWindowCloses)` would.
import type { EmitStrategy as Strategy } from './internals/emit-strategy.js'

export type EmitStrategy = Strategy

export const EmitStrategy = {
  onWindowUpdate: (): EmitStrategy => 'on-window-update',
  onWindowClose: (): EmitStrategy => 'on-window-close',
} as const
