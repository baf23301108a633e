// mapValuesAsync(): bounded concurrency, order per key, and the commit barrier.
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { Serdes, StreamsBuilder, TopologyTestDriver } from '../../../../../topology/index.js'
import { BufferingRecordCollector } from '../../../../../topology/internals/runtime/record-collector.js'
import { StreamTask } from '../../../../../topology/internals/runtime/stream-task.js'
import { after, marbleScheduler, runMarbles } from '../../marble-driver.js'

const str = Serdes.String()
const num = Serdes.Number()

/** A lookup whose answers the test releases by hand. */
function manualLookup() {
  const pending: {
    key: string
    value: number
    resolve: (v: number) => void
    reject: (e: unknown) => void
  }[] = []
  let running = 0
  let maxRunning = 0
  const fn = (value: number, key: string) =>
    new Promise<number>((resolve, reject) => {
      running++
      maxRunning = Math.max(maxRunning, running)
      pending.push({
        key,
        value,
        resolve: (v) => {
          running--
          resolve(v)
        },
        reject: (e) => {
          running--
          reject(e)
        },
      })
    })
  return { fn, pending, max: () => maxRunning }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

function topology(fn: (v: number, k: string) => Promise<number>, concurrency: number) {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .mapValuesAsync(fn, { concurrency })
    .to('out', { keySerde: str, valueSerde: num })
  return b.build()
}

describe('mapValuesAsync()', () => {
  it('keeps per-key order, bounds concurrency, and lets other keys pass a slow one', async () => {
    const lookup = manualLookup()
    const driver = new TopologyTestDriver(topology(lookup.fn, 2))
    const input = driver.createInputTopic('in', str, num)
    input.pipeInput('a', 1)
    input.pipeInput('a', 2) // waits behind a=1
    input.pipeInput('b', 3)
    input.pipeInput('c', 4) // waits for a slot
    expect(lookup.pending.map((p) => `${p.key}${p.value}`)).toEqual(['a1', 'b3'])
    lookup.pending[1]?.resolve(30) // b finishes first
    await tick()
    expect(lookup.pending.map((p) => `${p.key}${p.value}`)).toEqual(['a1', 'b3', 'c4'])
    lookup.pending[0]?.resolve(10)
    await tick()
    lookup.pending[2]?.resolve(40)
    await tick()
    lookup.pending[3]?.resolve(20) // a2 started only after a1 finished
    await driver.whenIdle()
    expect(lookup.pending.map((p) => `${p.key}${p.value}`)).toEqual(['a1', 'b3', 'c4', 'a2'])
    expect(lookup.max()).toBe(2)
    const out = driver.createOutputTopic('out', str, num).readKeyValuesToList()
    expect(out).toEqual([
      ['b', 30],
      ['a', 10],
      ['c', 40],
      ['a', 20],
    ])
  })

  it('never commits a record still in flight: prepareCommit refuses, whenIdle waits', async () => {
    const lookup = manualLookup()
    const collector = new BufferingRecordCollector()
    const task = new StreamTask({
      graph: topology(lookup.fn, 4).graph,
      subtopology: 0,
      partition: 0,
      applicationId: 'app',
      collector,
    })
    task.initializeStores()
    task.completeRestoration()
    const record = (offset: number) => ({
      topic: 'in',
      partition: 0,
      offset,
      timestamp: offset,
      key: Buffer.from('k'),
      value: num.serialize('in', offset),
      headers: new Map(),
    })
    task.addRecords('in', 0, [record(0), record(1)])
    task.process()
    expect(task.inFlight).toBe(2)
    expect(() => task.prepareCommit()).toThrow(/COMMIT_IN_FLIGHT/)
    let committed: number | undefined
    const commit = task.commitWhenIdle().then((bundle) => {
      committed = bundle.offsets[0]?.offset
    })
    lookup.pending[0]?.resolve(1)
    await tick()
    expect(committed).toBeUndefined()
    expect(task.inFlight).toBe(1)
    lookup.pending[1]?.resolve(2)
    await commit
    expect(committed).toBe(2)
    expect(collector.drain().map((r) => num.deserialize('out', r.value as Buffer))).toEqual([1, 2])
  })

  it('forwards each result under its own record context (timestamp)', async () => {
    const driver = new TopologyTestDriver(topology(async (v) => v * 2, 3))
    const input = driver.createInputTopic('in', str, num)
    input.pipeInput('a', 1, 100)
    input.pipeInput('b', 2, 200)
    await driver.whenIdle()
    const out = driver.createOutputTopic('out', str, num).readRecordsToList()
    expect(out.map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['a', 2, 100],
      ['b', 4, 200],
    ])
  })

  it('fails the task with ASYNC_OPERATION_FAILED (retryable) when the function rejects', async () => {
    const driver = new TopologyTestDriver(topology(async () => Promise.reject(new Error('lookup down')), 1))
    driver.createInputTopic('in', str, num).pipeInput('a', 1)
    await expect(driver.whenIdle()).rejects.toMatchObject({ code: 'ASYNC_OPERATION_FAILED', retryable: true })
  })

  it('refuses a concurrency below 1', () => {
    const b = new StreamsBuilder()
    const s = b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    expect(() => s.mapValuesAsync(async (v) => v, { concurrency: 0 })).toThrow(/INVALID_ARGUMENT/)
  })
})

describe('mapValuesAsync() in marbles: virtual-time lookups', () => {
  // Each lookup takes as many frames as its value's tens digit (a value of 21 takes 2 frames).
  async function run(inputMarbles: string, concurrency: number, dashes: number) {
    const scheduler = marbleScheduler()
    const started: string[] = []
    const fn = (value: number, key: string) => {
      started.push(`${key}${value}@${scheduler.frame / TestScheduler.frameTimeFactor}`)
      return after(scheduler, Math.floor(value / 10), value)
    }
    const driver = new TopologyTestDriver(topology(fn, concurrency))
    const values = { a: ['a', 31], b: ['a', 12], c: ['b', 11], d: ['c', 13] } as const
    const source = scheduler.createColdObservable(inputMarbles, values)
    const input = driver.createInputTopic('in', str, num)
    const output = driver.createOutputTopic('out', str, num)
    const events = await runMarbles(scheduler, driver, source, input, output as never, dashes)
    return { events, started }
  }

  it('a fast record of another key passes a slow one; the same key waits its turn', async () => {
    const { events, started } = await run('-acb', 4, 8)
    // a31 takes 3 frames (1 -> 4); b11 passes it (2 -> 3); a12 waits behind a31 (4 -> 5).
    expect(events).toEqual(TestScheduler.parseMarbles('---xyz', { x: 11, y: 31, z: 12 }))
    expect(started).toEqual(['a31@1', 'b11@2', 'a12@4'])
  })

  it('bounds concurrency: a record waits for a free slot', async () => {
    const { events, started } = await run('-acd', 2, 8)
    // Slots: a31 (1 -> 4), b11 (2 -> 3); c13 starts when b11 frees a slot at 3 (3 -> 4).
    expect(events).toEqual(TestScheduler.parseMarbles('---y(4w)', { y: 11, 4: 31, w: 13 }))
    expect(started).toEqual(['a31@1', 'b11@2', 'c13@3'])
  })
})
