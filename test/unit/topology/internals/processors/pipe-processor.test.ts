// pipe(): the chain is built once per task, synchronous operators pass, asynchronous ones are refused.
import { bufferCount, delay, filter, map, type Observable, take } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import {
  Serdes,
  type StreamRecord,
  StreamsBuilder,
  TopologyError,
  TopologyTestDriver,
} from '../../../../../topology/index.js'
import { marbleScheduler, runMarbles } from '../../marble-driver.js'

const str = Serdes.String()
const num = Serdes.Number()
type R = StreamRecord<string, number>

function driverWith(...ops: ((source: Observable<R>) => Observable<R>)[]) {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .pipe(...(ops as [never]))
    .to('out', { keySerde: str, valueSerde: num })
  const driver = new TopologyTestDriver(b.build())
  return {
    driver,
    input: driver.createInputTopic('in', str, num),
    output: driver.createOutputTopic('out', str, num),
  }
}

describe('pipe()', () => {
  it('builds the RxJS chain once per task, not per record', () => {
    let built = 0
    const counting = (source: Observable<R>) => {
      built++
      return source.pipe(map((r) => r.withValue(r.value + 1)))
    }
    const { input, output } = driverWith(counting)
    for (let i = 0; i < 5; i++) input.pipeInput('a', i)
    expect(built).toBe(1)
    expect(output.readValuesToList()).toEqual([1, 2, 3, 4, 5])
  })

  it('passes synchronous operators, including ones that drop records', () => {
    const { input, output } = driverWith(filter((r: R) => r.value > 0))
    input.pipeInput('a', 0)
    input.pipeInput('a', 1)
    expect(output.readValuesToList()).toEqual([1])
  })

  it('refuses an operator that emits after the call that fed it, pointing to mapValuesAsync', async () => {
    const { input, output } = driverWith(delay(1))
    input.pipeInput('a', 1)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(output.isEmpty()).toBe(true)
    let error: unknown
    try {
      input.pipeInput('a', 2)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TopologyError)
    expect((error as TopologyError).code).toBe('PIPE_NOT_SYNCHRONOUS')
    expect((error as TopologyError).message).toContain('mapValuesAsync')
  })

  it('fails when the operators complete (take), as records would be lost', () => {
    const { input } = driverWith(take(1))
    expect(() => input.pipeInput('a', 1)).toThrow(/PIPE_COMPLETED/)
  })

  it('rethrows an error thrown inside an operator synchronously', () => {
    const { input } = driverWith(
      map((r: R) => {
        if (r.value === 2) throw new Error('boom')
        return r
      }),
    )
    input.pipeInput('a', 1)
    expect(() => input.pipeInput('a', 2)).toThrow(/boom/)
  })
})

describe('pipe() in marbles: synchronous operators emit in the frame of their input', () => {
  const values = { a: ['k', 1], b: ['k', 2], c: ['k', 3], d: ['k', 4] } as const

  async function run(
    inputMarbles: string,
    dashes: number,
    // biome-ignore lint/suspicious/noExplicitAny: operators of any shape, as pipe() takes them
    ...ops: ((source: Observable<any>, scheduler: TestScheduler) => Observable<any>)[]
  ) {
    const scheduler = marbleScheduler()
    const { driver, input, output } = driverWith(
      ...ops.map((op) => (source: Observable<R>) => op(source, scheduler)),
    )
    const source = scheduler.createColdObservable(inputMarbles, values)
    return runMarbles(scheduler, driver, source, input, output as never, dashes)
  }

  it('filter and map: each output in the frame of its input', async () => {
    const events = await run(
      '-a-b-c-d',
      8,
      filter((r) => r.value % 2 === 0),
      map((r) => r.withValue(r.value * 10)),
    )
    expect(events).toEqual(TestScheduler.parseMarbles('---x---y', { x: 20, y: 40 }))
  })

  it('bufferCount: synchronous, emits in the frame of the record that completes a buffer', async () => {
    const events = await run(
      '-a-b-c-d',
      8,
      bufferCount<R>(2),
      map((rs: R[]) => (rs[0] as R).withValue(rs.reduce((s, r) => s + r.value, 0))),
    )
    expect(events).toEqual(TestScheduler.parseMarbles('---x---y', { x: 3, y: 7 }))
  })

  it('delay: the emission comes frames later, outside the call: the task fails then', async () => {
    const events = await run('-a------', 8, (source, scheduler) => source.pipe(delay(30, scheduler)))
    expect(events).toEqual(
      TestScheduler.parseMarbles('----#', {}, expect.objectContaining({ code: 'PIPE_NOT_SYNCHRONOUS' })),
    )
  })
})
