// The public API of windowing: window definitions, the window values, the lateness rules, the emit
// strategy, late records and the serdes of windowed keys.
export { EmitStrategy } from './emit-strategy.js'
export { LateRecord } from './internals/late-records.js'
export type { ValueAndTimestamp } from './internals/value-and-timestamp.js'
export { JoinWindows } from './join-windows.js'
export {
  decideTimeWindows,
  isSessionClosed,
  isSlidingWindowClosed,
  isTimeWindowClosed,
  type LateReason,
  type LateRule,
  sessionCloseTime,
  sessionLateness,
  slidingCloseTime,
  slidingLateness,
  type TimeWindowDecision,
  timeWindowCloseTime,
} from './lateness.js'
export {
  type QuantileAggregate,
  QuantileSketch,
  type QuantileSketchOptions,
  quantileSketch,
  quantileSketchSerde,
  quantiles,
} from './quantile-sketch.js'
export { SessionWindows } from './session-windows.js'
export { SlidingWindows } from './sliding-windows.js'
export { TimeWindows } from './time-windows.js'
export { Window, Windowed } from './window.js'
export type { SessionStore, WindowStore } from './window-store.js'
export { WindowedSerdes } from './windowed-serdes.js'
