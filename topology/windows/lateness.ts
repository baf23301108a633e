// When a window is closed and when a record is too late, per kind of window: pure functions of the window
// definition, the record's timestamp and the processor's stream time (the largest timestamp it has seen,
// this record's included, as Kafka Streams' `observedStreamTime`). Each rule is the one of the Kafka
// Streams processor named beside it, so that the same input drops the same records:
//  - time windows (KStreamWindowAggregate): closeTime = streamTime - grace; a window [start, end) is open
//    while end > closeTime; a record updates its open windows and is late only when none is open.
//  - session windows (KStreamSessionWindowAggregate): closeTime = streamTime - grace - gap; a record is
//    late when the session it would create or merge into ends before closeTime (end < closeTime).
//  - sliding windows (KStreamSlidingWindowAggregate): closeTime = streamTime - grace; a window [start, end]
//    is open while end >= closeTime; a record is late when timestamp + timeDifference < closeTime.
// A window is emitted final (emit on window close) once it is no longer open by the same rule.
import type { SessionWindows } from './session-windows.js'
import type { SlidingWindows } from './sliding-windows.js'
import type { TimeWindows } from './time-windows.js'
import { Window } from './window.js'

export type LateRule = 'time-window-closed' | 'session-closed' | 'sliding-window-closed' | 'no-window'

/** Why a record changed no window: what the late-record output carries. */
export interface LateReason {
  readonly rule: LateRule
  readonly timestamp: number
  readonly streamTime: number
  /** Windows ending before (sliding, session) or at (time windows) this time are closed. */
  readonly closeTime: number
  /** The window the record would have updated last (undefined for 'no-window'). */
  readonly window: Window | undefined
}

export interface TimeWindowDecision {
  /** The windows of the record that are still open, ascending by start. */
  readonly open: readonly Window[]
  /** Set when `open` is empty. */
  readonly late: LateReason | undefined
}

export function timeWindowCloseTime(windows: TimeWindows, streamTime: number): number {
  return streamTime - windows.graceMs
}

/** A time window [start, end) is closed once end + grace <= stream time. */
export function isTimeWindowClosed(windows: TimeWindows, window: Window, streamTime: number): boolean {
  return window.end <= streamTime - windows.graceMs
}

export function decideTimeWindows(
  windows: TimeWindows,
  timestamp: number,
  streamTime: number,
): TimeWindowDecision {
  const all = windows.windowsFor(timestamp)
  const closeTime = timeWindowCloseTime(windows, streamTime)
  if (all.length === 0) {
    // Only a negative timestamp has no window (windows start at 0); Kafka Streams drops such records earlier.
    return { open: all, late: { rule: 'no-window', timestamp, streamTime, closeTime, window: undefined } }
  }
  let first = 0
  while (first < all.length && (all[first] as Window).end <= closeTime) first++
  if (first === all.length) {
    return {
      open: [],
      late: { rule: 'time-window-closed', timestamp, streamTime, closeTime, window: all[all.length - 1] },
    }
  }
  return { open: first === 0 ? all : all.slice(first), late: undefined }
}

export function sessionCloseTime(windows: SessionWindows, streamTime: number): number {
  return streamTime - windows.graceMs - windows.inactivityGapMs
}

/** A session [start, end] is closed once end < stream time - grace - gap. */
export function isSessionClosed(windows: SessionWindows, session: Window, streamTime: number): boolean {
  return session.end < sessionCloseTime(windows, streamTime)
}

/** `merged`: the session the record creates, or the union of it with the sessions it merges. */
export function sessionLateness(
  windows: SessionWindows,
  timestamp: number,
  merged: Window,
  streamTime: number,
): LateReason | undefined {
  const closeTime = sessionCloseTime(windows, streamTime)
  if (timestamp < 0) return { rule: 'no-window', timestamp, streamTime, closeTime, window: undefined }
  return merged.end < closeTime
    ? { rule: 'session-closed', timestamp, streamTime, closeTime, window: merged }
    : undefined
}

export function slidingCloseTime(windows: SlidingWindows, streamTime: number): number {
  return streamTime - windows.graceMs
}

/** A sliding window [start, end] is closed once end < stream time - grace. */
export function isSlidingWindowClosed(windows: SlidingWindows, window: Window, streamTime: number): boolean {
  return window.end < slidingCloseTime(windows, streamTime)
}

export function slidingLateness(
  windows: SlidingWindows,
  timestamp: number,
  streamTime: number,
): LateReason | undefined {
  const closeTime = slidingCloseTime(windows, streamTime)
  if (timestamp < 0) return { rule: 'no-window', timestamp, streamTime, closeTime, window: undefined }
  if (timestamp + windows.timeDifferenceMs >= closeTime) return undefined
  // The latest window that could hold the record is the one starting at it (Kafka logs the same window).
  return {
    rule: 'sliding-window-closed',
    timestamp,
    streamTime,
    closeTime,
    window: new Window(timestamp, timestamp + windows.timeDifferenceMs),
  }
}
