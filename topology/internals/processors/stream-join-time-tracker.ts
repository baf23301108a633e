// The time both sides of one stream-stream join share in a task (Kafka Streams' TimeTracker): the join's
// stream time (the largest timestamp either side has seen) and a lower bound of the timestamps waiting
// in the outer-join store, which lets most records skip the scan for closed windows.
export class JoinTimeTracker {
  streamTime = Number.NEGATIVE_INFINITY
  minTime = Number.POSITIVE_INFINITY

  advanceStreamTime(timestamp: number): void {
    if (timestamp > this.streamTime) this.streamTime = timestamp
  }

  updateMinTime(timestamp: number): void {
    if (timestamp < this.minTime) this.minTime = timestamp
  }
}

/** One tracker per task, handed to both join processors of that task. */
export class JoinTimeTrackers {
  readonly #byTask = new Map<string, JoinTimeTracker>()

  get(taskId: string): JoinTimeTracker {
    let tracker = this.#byTask.get(taskId)
    if (tracker === undefined) {
      tracker = new JoinTimeTracker()
      this.#byTask.set(taskId, tracker)
    }
    return tracker
  }

  remove(taskId: string): void {
    this.#byTask.delete(taskId)
  }
}
