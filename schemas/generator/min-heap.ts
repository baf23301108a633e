// A binary min-heap ordered by (priority, insertion sequence): the simulation's follow-up queue and the
// disorder stage's held records. The sequence makes ties deterministic (first scheduled, first out).
export class MinHeap<T> {
  readonly #items: { priority: number; seq: number; value: T }[] = []
  #seq = 0

  get size(): number {
    return this.#items.length
  }

  push(priority: number, value: T): void {
    this.#items.push({ priority, seq: this.#seq++, value })
    this.#up(this.#items.length - 1)
  }

  peekPriority(): number | undefined {
    return this.#items[0]?.priority
  }

  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined) return undefined
    if (items.length > 0) {
      items[0] = last
      this.#down(0)
    }
    return top.value
  }

  #less(i: number, j: number): boolean {
    const a = this.#items[i] as { priority: number; seq: number }
    const b = this.#items[j] as { priority: number; seq: number }
    return a.priority < b.priority || (a.priority === b.priority && a.seq < b.seq)
  }

  #swap(i: number, j: number): void {
    const items = this.#items
    const t = items[i] as (typeof items)[number]
    items[i] = items[j] as (typeof items)[number]
    items[j] = t
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#less(i, parent)) return
      this.#swap(i, parent)
      i = parent
    }
  }

  #down(i: number): void {
    const n = this.#items.length
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < n && this.#less(left, smallest)) smallest = left
      if (right < n && this.#less(right, smallest)) smallest = right
      if (smallest === i) return
      this.#swap(i, smallest)
      i = smallest
    }
  }
}
