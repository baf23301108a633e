// StreamTask: ordering across partitions, stream time, punctuators, commit bundles, lifecycle guards,
// restoration and failure handling.
import { describe, expect, it } from 'vitest'
import {
  Materialized,
  type ProcessorContext,
  Serdes,
  StreamsBuilder,
  type Topology,
} from '../../../../../topology/index.js'
import type { InputRecord } from '../../../../../topology/internals/runtime/input-record.js'
import { BufferingRecordCollector } from '../../../../../topology/internals/runtime/record-collector.js'
import { StreamTask } from '../../../../../topology/internals/runtime/stream-task.js'

const str = Serdes.String()
const num = Serdes.Number()

const rec = (topic: string, offset: number, timestamp: number, key = 'k', value = offset): InputRecord => ({
  topic,
  partition: 0,
  offset,
  timestamp,
  key: Buffer.from(key),
  value: num.serialize(topic, value),
  headers: new Map(),
})

function recordingTopology(
  seen: string[],
  onInit?: (ctx: ProcessorContext<string, number>) => void,
): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>(['left', 'right'], { keySerde: str, valueSerde: num }).process<string, number>(
    () => {
      let ctx: ProcessorContext<string, number>
      return {
        init: (c) => {
          ctx = c
          onInit?.(c)
        },
        process: (r) => {
          const rc = ctx.recordContext()
          seen.push(`${rc?.topic}@${rc?.offset} t=${r.timestamp} st=${ctx.currentStreamTimeMs()}`)
        },
      }
    },
  )
  return b.build()
}

function running(topology: Topology, collector = new BufferingRecordCollector(), clock?: () => number) {
  const task = new StreamTask({
    graph: topology.graph,
    subtopology: 0,
    partition: 0,
    applicationId: 'app',
    collector,
    ...(clock ? { clock } : {}),
  })
  task.initializeStores()
  task.completeRestoration()
  return task
}

describe('StreamTask', () => {
  it('takes the head with the smallest timestamp across partitions, offset order within one', () => {
    const seen: string[] = []
    const task = running(recordingTopology(seen))
    task.addRecords('left', 0, [rec('left', 0, 10), rec('left', 1, 30), rec('left', 2, 5)])
    task.addRecords('right', 0, [rec('right', 0, 20), rec('right', 1, 40)])
    expect(task.process()).toBe(5)
    expect(seen).toEqual([
      'left@0 t=10 st=10',
      'right@0 t=20 st=20',
      'left@1 t=30 st=30',
      'left@2 t=5 st=30',
      'right@1 t=40 st=40',
    ])
    expect(task.streamTime).toBe(40)
  })

  it('commits the next offset of every partition it consumed', () => {
    const task = running(recordingTopology([]))
    task.addRecords('left', 0, [rec('left', 7, 1), rec('left', 8, 2)])
    task.process(1)
    expect(task.prepareCommit().offsets).toEqual([{ topic: 'left', partition: 0, offset: 8 }])
    task.process()
    const bundle = task.prepareCommit()
    expect(bundle).toMatchObject({
      taskId: '0_0',
      offsets: [{ topic: 'left', partition: 0, offset: 9 }],
      recordsProcessed: 2,
    })
  })

  it('runs stream-time and wall-clock punctuators, skipping missed intervals', () => {
    const fired: string[] = []
    let now = 1000
    const task = running(
      recordingTopology([], (ctx) => {
        ctx.schedule(10, 'stream-time', (ts) => fired.push(`stream ${ts}`))
        const handle = ctx.schedule(100, 'wall-clock-time', (ts) => {
          fired.push(`wall ${ts}`)
          if (ts >= 1300) handle.cancel()
        })
      }),
      new BufferingRecordCollector(),
      () => now,
    )
    task.addRecords('left', 0, [rec('left', 0, 5), rec('left', 1, 9), rec('left', 2, 15), rec('left', 3, 60)])
    task.process()
    expect(task.punctuateWallClock()).toBe(0)
    now = 1100
    task.punctuateWallClock()
    now = 1350
    task.punctuateWallClock()
    now = 1500
    task.punctuateWallClock()
    expect(fired).toEqual(['stream 5', 'stream 15', 'stream 60', 'wall 1100', 'wall 1350'])
  })

  it('refuses to process before restoration completes or after suspension', () => {
    const task = new StreamTask({
      graph: recordingTopology([]).graph,
      subtopology: 0,
      partition: 0,
      applicationId: 'app',
      collector: new BufferingRecordCollector(),
    })
    expect(() => task.process()).toThrow(/ILLEGAL_STATE_TRANSITION/)
    task.initializeStores()
    expect(() => task.process()).toThrow(/cannot process records in state RESTORING/)
    task.completeRestoration()
    task.suspend()
    expect(() => task.process()).toThrow(/SUSPENDED/)
    expect(() => task.completeRestoration()).toThrow(/ILLEGAL_STATE_TRANSITION/)
    task.close()
    expect(task.state).toBe('CLOSED')
  })

  it('restores stores from changelog records before running, then continues from them', () => {
    const b = new StreamsBuilder()
    b.stream<string, number>('in', { keySerde: str, valueSerde: num })
      .groupByKey()
      .count(Materialized.as('counts'))
    const topology = b.build()
    const first = new BufferingRecordCollector()
    const a = running(topology, first)
    a.addRecords('in', 0, [rec('in', 0, 1, 'x'), rec('in', 1, 2, 'x'), rec('in', 2, 3, 'y')])
    a.process()
    a.prepareCommit()
    const changelog = first.drain().filter((r) => r.topic === 'app-counts-changelog')

    const b2 = new StreamTask({
      graph: topology.graph,
      subtopology: 0,
      partition: 0,
      applicationId: 'app',
      collector: new BufferingRecordCollector(),
    })
    expect(b2.initializeStores()).toEqual([
      { store: 'counts', topic: 'app-counts-changelog', partition: 0, persistent: false },
    ])
    b2.restore('counts', changelog)
    b2.completeRestoration()
    b2.addRecords('in', 0, [rec('in', 3, 4, 'x')])
    b2.process()
    const store = b2.getStore('counts') as unknown as { get(k: string): number | undefined }
    expect([store.get('x'), store.get('y')]).toEqual([3, 1])
  })

  it('wraps an error thrown by user code with the record location, and stays failed', () => {
    const b = new StreamsBuilder()
    b.stream<string, number>('in', { keySerde: str, valueSerde: num }).peek(() => {
      throw new Error('bad record')
    })
    const task = running(b.build())
    task.addRecords('in', 0, [rec('in', 4, 1)])
    expect(() => task.process()).toThrow(/PROCESSING_FAILED: task 0_0 at in-0@4: Error: bad record/)
    expect(() => task.prepareCommit()).toThrow(/PROCESSING_FAILED/)
  })
})
