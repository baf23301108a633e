// The input partitions of one task. Each partition is read in offset order; across partitions the next
// record is the head with the smallest event time, so that a task that joins or merges topics sees them
// in event-time order as far as its buffers allow (Kafka Streams' PartitionGroup). With several
// partitions and `maxTaskIdleMs` > 0, while one partition is empty the group waits (up to that long, by
// the task's clock) before it goes on with the others: late data keeps its place in event-time order.
import { type RecordDecoder, RecordQueue } from './record-queue.js'

export class PartitionGroup<S extends RecordDecoder> {
  readonly #queues: RecordQueue<S>[] = []
  /** Wall-clock time since which a partition has been empty while others had data; -1 when not. */
  #idleSince = -1

  constructor(
    private readonly maxTaskIdleMs = 0,
    private readonly clock: () => number = Date.now,
  ) {}

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

  /**
   * The queue whose head record comes next, or undefined when every queue is empty or the group waits
   * for an empty partition. Its head is decoded (headRecord).
   */
  next(): RecordQueue<S> | undefined {
    const queues = this.#queues
    if (queues.length === 1) {
      const only = queues[0] as RecordQueue<S>
      return only.size > 0 && only.headTimestamp() !== Number.POSITIVE_INFINITY ? only : undefined
    }
    let best: RecordQueue<S> | undefined
    let bestTs = Number.POSITIVE_INFINITY
    let empty = false
    for (const q of queues) {
      const ts = q.headTimestamp()
      if (ts === Number.POSITIVE_INFINITY) empty = true
      else if (ts < bestTs) {
        best = q
        bestTs = ts
      }
    }
    if (best === undefined || !empty) {
      this.#idleSince = -1
      return best
    }
    if (this.maxTaskIdleMs <= 0) return best
    const now = this.clock()
    if (this.#idleSince < 0) this.#idleSince = now
    return now - this.#idleSince >= this.maxTaskIdleMs ? best : undefined
  }

  /** True when records are buffered but next() holds them back, waiting for an empty partition. */
  get waiting(): boolean {
    return this.#idleSince >= 0 && this.size > 0 && this.clock() - this.#idleSince < this.maxTaskIdleMs
  }

  clear(): void {
    for (const q of this.#queues) q.clear()
    this.#idleSince = -1
  }
}
