// pipe(): the chain is built once per task, synchronous operators pass, asynchronous ones are refused.
import { delay, filter, map, type Observable, take } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  Serdes,
  type StreamRecord,
  StreamsBuilder,
  TopologyError,
  TopologyTestDriver,
} from '../../../../../topology/index.js'

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
