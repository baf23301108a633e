// The public API of windowing: window definitions, the window values, and the lateness rules.
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
export { SessionWindows } from './session-windows.js'
export { SlidingWindows } from './sliding-windows.js'
export { TimeWindows } from './time-windows.js'
export { Window, Windowed } from './window.js'
