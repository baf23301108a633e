// The input partitions of one task. Each partition is read in offset order; across partitions the next
// record is the head with the smallest timestamp, so that a task that joins or merges topics sees them in
// event-time order as far as its buffers allow (Kafka Streams' PartitionGroup).
import { RecordQueue } from './record-queue.js'

export class PartitionGroup<S> {
  readonly #queues: RecordQueue<S>[] = []

  addPartition(topic: string, partition: number, source: S): RecordQueue<S> {
    const queue = new RecordQueue(topic, partition, source)
    this.#queues.push(queue)
    return queue
  }

  queue(topic: string, partition: number): RecordQueue<S> | undefined {
    return this.#queues.find((q) => q.topic === topic && q.partition === partition)
  }

  get queues(): readonly RecordQueue<S>[] {
    return this.#queues
  }

  get size(): number {
    let n = 0
    for (const q of this.#queues) n += q.size
    return n
  }

  /** The queue whose head record comes next, or undefined when every queue is empty. */
  next(): RecordQueue<S> | undefined {
    const queues = this.#queues
    if (queues.length === 1) {
      const only = queues[0] as RecordQueue<S>
      return only.size > 0 ? only : undefined
    }
    let best: RecordQueue<S> | undefined
    let bestTs = Number.POSITIVE_INFINITY
    for (const q of queues) {
      const ts = q.headTimestamp()
      if (ts < bestTs || (best === undefined && q.size > 0)) {
        best = q
        bestTs = ts
      }
    }
    return best
  }

  clear(): void {
    for (const q of this.#queues) q.clear()
  }
}
