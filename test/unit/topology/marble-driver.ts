// Marble tests through the TopologyTestDriver: input records arrive at the frames of a marble diagram,
// the test scheduler's virtual time is advanced one frame at a time (letting Promises settle between
// frames, so mapValuesAsync completions land on the frame that resolved them), and each output record
// is stamped with the frame it appeared in. The result compares with TestScheduler.parseMarbles().
import { type Observable, type SchedulerLike, timer } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { expect } from 'vitest'
import type { TestInputTopic, TestOutputTopic, TopologyTestDriver } from '../../../topology/index.js'

export interface FrameEvent {
  frame: number
  notification: { kind: 'N'; value: unknown } | { kind: 'E'; error: unknown } | { kind: 'C' }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

export function marbleScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
}

/** Virtual time of one marble character ('-') outside TestScheduler.run(). */
const FRAME = TestScheduler.frameTimeFactor

/** A value that resolves `dashes` marble frames from now, in the scheduler's virtual time. */
export function after<T>(scheduler: SchedulerLike, dashes: number, value: T): Promise<T> {
  return new Promise((resolve) => timer(dashes * FRAME, scheduler).subscribe(() => resolve(value)))
}

/**
 * Pipes `input` (key, value) pairs at their frames, runs `dashes` marble frames, and returns the output
 * values by frame. A task failure is an 'E' notification at the frame it surfaced.
 */
export async function runMarbles<K, V>(
  scheduler: TestScheduler,
  driver: TopologyTestDriver,
  input: Observable<readonly [K, V]>,
  into: TestInputTopic<K, V>,
  from: TestOutputTopic<unknown, unknown>,
  dashes: number,
): Promise<FrameEvent[]> {
  const events: FrameEvent[] = []
  let failure: unknown
  input.subscribe(([key, value]) => {
    if (failure !== undefined) return
    try {
      into.pipeInput(key, value, scheduler.frame)
    } catch (error) {
      failure = error
    }
  })
  let reported = false
  for (let frame = 0; frame <= dashes * FRAME; frame += FRAME) {
    scheduler.maxFrames = frame
    scheduler.flush()
    await settle()
    if (failure === undefined) {
      try {
        driver.commit()
      } catch (error) {
        failure = error
      }
    }
    for (const value of from.readValuesToList()) events.push({ frame, notification: { kind: 'N', value } })
    if (failure !== undefined && !reported) {
      reported = true
      events.push({ frame, notification: { kind: 'E', error: failure } })
    }
  }
  return events
}
