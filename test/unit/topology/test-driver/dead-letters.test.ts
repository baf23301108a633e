// Bad input never crashes a task: records that do not deserialize, carry an invalid timestamp or (when
// asked) make a processor throw go to the dead-letter output (or are skipped, or fail the task, as the
// handler says), are counted, and processing goes on with the next record, whose offset commits past them.
import { map } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  type EngineMetrics,
  Serdes,
  type StreamRecord,
  StreamsBuilder,
  type Topology,
  TopologyTestDriver,
} from '../../../../topology/index.js'

const str = Serdes.String()
const num = Serdes.Number()
const buf = Serdes.Buffer()

function doubling(): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .mapValues((v) => {
      if (v === 13) throw new Error('unlucky')
      return v * 2
    })
    .to('out', { keySerde: str, valueSerde: num })
  return b.build()
}

function countingMetrics(): EngineMetrics & { bad: string[] } {
  const bad: string[] = []
  return {
    enabled: false,
    bad,
    storeOperation: () => {},
    recordsProcessed: () => {},
    badRecord: (taskId, code, response) => bad.push(`${taskId} ${code} ${response}`),
  }
}

describe('dead letters in the test driver', () => {
  it('sends a record that does not deserialize to the dead-letter output and goes on', () => {
    const metrics = countingMetrics()
    const driver = new TopologyTestDriver(doubling(), { metrics })
    const raw = driver.createInputTopic('in', str, buf)
    const good = driver.createInputTopic('in', str, num)
    const out = driver.createOutputTopic('out', str, num)
    good.pipeInput('a', 1, 10)
    raw.pipeInput('b', Buffer.from('bad'), 20, new Map([['trace', Buffer.from('t1')]]))
    good.pipeInput('c', 3, 30)
    expect(out.readKeyValuesToList()).toEqual([
      ['a', 2],
      ['c', 6],
    ])
    const [letter, ...rest] = driver.readDeadLetters()
    expect(rest).toEqual([])
    expect(letter?.record).toMatchObject({
      topic: 'in',
      partition: 0,
      offset: 1,
      timestamp: 20,
      key: Buffer.from('b'),
      value: Buffer.from('bad'),
    })
    expect(letter?.record.headers.get('trace')).toEqual(Buffer.from('t1'))
    expect(letter?.cause).toMatchObject({ code: 'DESERIALIZATION_FAILED', details: { part: 'value' } })
    expect(letter?.cause.reason).toMatch(/could not deserialize the value of in-0@1/)
    expect(metrics.bad).toEqual(['0_0 DESERIALIZATION_FAILED dead-letter'])
    expect(driver.readDeadLetters()).toEqual([])
  })

  it('writes dead letters to a topic when one is configured', () => {
    const driver = new TopologyTestDriver(doubling(), { deadLetterTopic: 'dlq' })
    driver.createInputTopic('in', str, buf).pipeInput('k', Buffer.from('xy'), 5)
    const dlq = driver.createOutputTopic('dlq', str, buf)
    const [record] = dlq.readRecordsToList()
    expect(record).toMatchObject({ key: 'k', value: Buffer.from('xy'), timestamp: 5 })
    expect(record?.headers.get('dead-letter.code')?.toString()).toBe('DESERIALIZATION_FAILED')
    expect(record?.headers.get('dead-letter.source.offset')?.toString()).toBe('0')
  })

  it("skips and counts with 'continue', fails the task with 'fail'", () => {
    const metrics = countingMetrics()
    const skipping = new TopologyTestDriver(doubling(), {
      metrics,
      deserializationExceptionHandler: 'continue',
    })
    skipping.createInputTopic('in', str, buf).pipeInput('k', Buffer.from('x'))
    skipping.createInputTopic('in', str, num).pipeInput('k', 1)
    expect(skipping.createOutputTopic('out', str, num).readValuesToList()).toEqual([2])
    expect(skipping.readDeadLetters()).toEqual([])
    expect(metrics.bad).toEqual(['0_0 DESERIALIZATION_FAILED continue'])

    const failing = new TopologyTestDriver(doubling(), { deserializationExceptionHandler: 'fail' })
    expect(() => failing.createInputTopic('in', str, buf).pipeInput('k', Buffer.from('x'))).toThrow(
      /SERIALIZATION_FAILED: task 0_0 at in-0@0: source .* could not deserialize the value/,
    )
  })

  it('asks a handler function, which sees the raw record and the cause', () => {
    const seen: string[] = []
    const driver = new TopologyTestDriver(doubling(), {
      deserializationExceptionHandler: (record, error, cause) => {
        seen.push(`${record.offset} ${cause.code} ${error instanceof RangeError}`)
        return record.key?.toString() === 'drop' ? 'continue' : 'dead-letter'
      },
    })
    const raw = driver.createInputTopic('in', str, buf)
    raw.pipeInput('drop', Buffer.from('x'))
    raw.pipeInput('keep', Buffer.from('x'))
    expect(seen).toEqual(['0 DESERIALIZATION_FAILED true', '1 DESERIALIZATION_FAILED true'])
    expect(driver.readDeadLetters().map((l) => l.record.offset)).toEqual([1])
  })

  it('fails on a processing error by default, dead-letters it when asked', () => {
    const failing = new TopologyTestDriver(doubling())
    expect(() => failing.createInputTopic('in', str, num).pipeInput('k', 13)).toThrow(/unlucky/)

    const metrics = countingMetrics()
    const driver = new TopologyTestDriver(doubling(), { metrics, processingExceptionHandler: 'dead-letter' })
    driver.createInputTopic('in', str, num).pipeValueList([1, 13, 2])
    expect(driver.createOutputTopic('out', str, num).readValuesToList()).toEqual([2, 4])
    const [letter] = driver.readDeadLetters()
    expect(letter?.record.offset).toBe(1)
    expect(letter?.cause).toMatchObject({ code: 'PROCESSING_FAILED' })
    expect(letter?.cause.reason).toMatch(/unlucky/)
    expect(metrics.bad).toEqual(['0_0 PROCESSING_FAILED dead-letter'])
  })

  it("dead-letters a sink's serialization error under the processing handler", () => {
    const b = new StreamsBuilder()
    b.stream<string, number>('in', { keySerde: str, valueSerde: num }).to('out', {
      keySerde: str,
      valueSerde: Serdes.Long(),
    })
    const driver = new TopologyTestDriver(b.build(), { processingExceptionHandler: 'dead-letter' })
    driver.createInputTopic('in', str, num).pipeValueList([1, 1.5, 2])
    expect(driver.createOutputTopic('out', str, Serdes.Long()).readValuesToList()).toEqual([1, 2])
    expect(driver.readDeadLetters().map((l) => l.record.offset)).toEqual([1])
  })

  it('in pipe(): a downstream error concerns its record only; an operator error ends the chain and fails', () => {
    const b = new StreamsBuilder()
    b.stream<string, number>('in', { keySerde: str, valueSerde: num })
      .pipe(map((r: StreamRecord<string, number>) => r.withValue(r.value * 2)))
      .to('out', { keySerde: str, valueSerde: Serdes.Long() })
    const driver = new TopologyTestDriver(b.build(), { processingExceptionHandler: 'dead-letter' })
    driver.createInputTopic('in', str, num).pipeValueList([1, 0.25, 2])
    expect(driver.createOutputTopic('out', str, Serdes.Long()).readValuesToList()).toEqual([2, 4])
    expect(driver.readDeadLetters().map((l) => l.record.offset)).toEqual([1])

    const c = new StreamsBuilder()
    c.stream<string, number>('in', { keySerde: str, valueSerde: num })
      .pipe(
        map((r: StreamRecord<string, number>) => {
          if (r.value === 13) throw new Error('unlucky')
          return r
        }),
      )
      .to('out', { keySerde: str, valueSerde: num })
    const failing = new TopologyTestDriver(c.build(), { processingExceptionHandler: 'dead-letter' })
    expect(() => failing.createInputTopic('in', str, num).pipeValueList([1, 13, 2])).toThrow(
      /PROCESSING_FAILED: an operator given to pipe\(\) at .* threw, which ends its chain: Error: unlucky/,
    )
    expect(failing.readDeadLetters()).toEqual([])
  })

  it('refuses an unknown handler response name', () => {
    expect(
      () =>
        new TopologyTestDriver(doubling(), {
          deserializationExceptionHandler: 'log' as unknown as 'continue',
        }),
    ).toThrow(/INVALID_ARGUMENT: deserializationExceptionHandler must be/)
  })
})
