// PartitionGroup: event-time order across partitions, diverted heads dropped with their offsets, and
// maxTaskIdleMs: with one partition empty it waits (by its clock) before going on with the others.
import { describe, expect, it } from 'vitest'
import { Serdes, StreamRecord, StreamsBuilder, TopologyTestDriver } from '../../../../../topology/index.js'
import type { InputRecord } from '../../../../../topology/internals/runtime/input-record.js'
import { PartitionGroup } from '../../../../../topology/internals/runtime/partition-group.js'
import type { RecordDecoder } from '../../../../../topology/internals/runtime/record-queue.js'

const rec = (topic: string, offset: number, timestamp: number): InputRecord => ({
  topic,
  partition: 0,
  offset,
  timestamp,
  key: null,
  value: Buffer.from(`${topic}${offset}`),
  headers: new Map(),
})

// Decodes the value as a string; a value ending in "!" is diverted.
const decoder: RecordDecoder = {
  decode: (input) => {
    const value = input.value?.toString() ?? ''
    return value.endsWith('!') ? undefined : new StreamRecord(null, value, input.timestamp)
  },
}

function drain(group: PartitionGroup<RecordDecoder>): string[] {
  const out: string[] = []
  for (let q = group.next(); q !== undefined; q = group.next()) {
    out.push(String(q.headRecord?.value))
    q.take()
  }
  return out
}

describe('PartitionGroup', () => {
  it('takes the smallest head timestamp across partitions', () => {
    const group = new PartitionGroup<RecordDecoder>()
    group.addPartition('a', 0, decoder).add([rec('a', 0, 1), rec('a', 1, 5)])
    group.addPartition('b', 0, decoder).add([rec('b', 0, 3), rec('b', 1, 4)])
    expect(drain(group)).toEqual(['a0', 'b0', 'b1', 'a1'])
  })

  it('drops diverted heads and advances their offsets', () => {
    const group = new PartitionGroup<RecordDecoder>()
    const a = group.addPartition('a', 0, decoder)
    a.add([{ ...rec('a', 0, 1), value: Buffer.from('bad!') }, rec('a', 1, 2)])
    expect(a.headTimestamp()).toBe(2)
    expect(a.nextOffset).toBe(1)
    expect(drain(group)).toEqual(['a1'])
    expect(a.nextOffset).toBe(2)
    a.add([{ ...rec('a', 2, 3), value: Buffer.from('bad!') }])
    expect(group.next()).toBeUndefined()
    expect(a.nextOffset).toBe(3)
  })

  it('does not wait by default (maxTaskIdleMs 0)', () => {
    const group = new PartitionGroup<RecordDecoder>()
    group.addPartition('a', 0, decoder).add([rec('a', 0, 10)])
    group.addPartition('b', 0, decoder)
    expect(drain(group)).toEqual(['a0'])
  })

  it('waits up to maxTaskIdleMs for an empty partition, then goes on', () => {
    let now = 1000
    const group = new PartitionGroup<RecordDecoder>(50, () => now)
    const a = group.addPartition('a', 0, decoder)
    const b = group.addPartition('b', 0, decoder)
    a.add([rec('a', 0, 10), rec('a', 1, 30)])
    expect(group.next()).toBeUndefined()
    expect(group.waiting).toBe(true)
    now += 49
    expect(group.next()).toBeUndefined()
    b.add([rec('b', 0, 20)]) // late data arrives in time: order holds
    expect(drain(group)).toEqual(['a0', 'b0']) // b empty again: a new wait starts for a1
    expect(group.waiting).toBe(true)
    now += 50
    expect(group.waiting).toBe(false)
    expect(drain(group)).toEqual(['a1'])
  })
})

describe('maxTaskIdleMs in the test driver', () => {
  function merged() {
    const str = Serdes.String()
    const b = new StreamsBuilder()
    b.stream<string, string>(['left', 'right'], { keySerde: str, valueSerde: str }).to('out')
    return new TopologyTestDriver(b.build(), { maxTaskIdleMs: 100 })
  }

  it('holds records of one topic until the other has data or the wait is over', () => {
    const str = Serdes.String()
    const driver = merged()
    const left = driver.createInputTopic('left', str, str)
    const right = driver.createInputTopic('right', str, str)
    const out = driver.createOutputTopic('out', str, str)
    left.pipeInput('k', 'l1', 10)
    left.pipeInput('k', 'l3', 30)
    expect(out.readValuesToList()).toEqual([])
    right.pipeInput('k', 'r2', 20)
    expect(out.readValuesToList()).toEqual(['l1', 'r2'])
    driver.advanceWallClockTime(99)
    expect(out.readValuesToList()).toEqual([])
    driver.advanceWallClockTime(1)
    expect(out.readValuesToList()).toEqual(['l3'])
  })
})
