// A window as a value: a start and an end in milliseconds of event time, and the key of a windowed
// aggregate (`Windowed`). Which bound is inclusive depends on the kind of window, as in Kafka Streams:
// time windows (tumbling, hopping) are [start, end), sliding windows and session windows are [start, end].

export class Window {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  equals(other: Window): boolean {
    return this.start === other.start && this.end === other.end
  }

  toString(): string {
    return `[${this.start},${this.end}]`
  }
}

/** The key of a windowed aggregate's output: the record key and the window it was aggregated in. */
export class Windowed<K> {
  constructor(
    readonly key: K,
    readonly window: Window,
  ) {}
}
