// Turns the simulation's in-order stream into what a consumer really sees. Some events are held back
// and emitted after later ones: a little (out of order, 1..maxOutOfOrderMs of event time behind) or a
// lot (late, lateByMs behind). Some are emitted twice, as a producer retry would (same event_id, same
// bytes, right after the original).
//
// Only events after which their key has nothing more to say are held back: the terminal event of an
// entity (TaskCompleted/Failed/Cancelled, TeamDisbanded, TeamFormationFailed, AgentTerminated) and
// metric samples (independent measurements). So per key the stream stays in event-time order, no
// entity's lifecycle is reordered, and holding one event back never holds back any other. To still
// reach the requested shares over all events, each share accrues as a credit per event and is spent
// on the next eligible events.
import { MinHeap } from './min-heap.js'
import type { SimulatedEvent } from './platform-simulator.js'
import { Prng, type Seed } from './prng.js'

export interface DisorderOptions {
  outOfOrderShare: number
  maxOutOfOrderMs: number
  lateShare: number
  lateByMs: number
  duplicateShare: number
}

export type Delay = 'none' | 'out-of-order' | 'late'

export type GeneratedRecord = SimulatedEvent & {
  /** Kafka record timestamp: the event time. */
  timestamp: number
  /** The second copy of a duplicated event. */
  duplicate: boolean
  /** Why it comes after events with a later event time. */
  delay: Delay
}

const MAY_BE_HELD = new Set([
  'agent_party.events.ComponentMetric',
  'agent_party.events.TaskCompleted',
  'agent_party.events.TaskFailed',
  'agent_party.events.TaskCancelled',
  'agent_party.events.TeamDisbanded',
  'agent_party.events.TeamFormationFailed',
  'agent_party.events.AgentTerminated',
])

export function mayBeHeld(simulated: SimulatedEvent): boolean {
  for (const name in simulated.event.payload) return MAY_BE_HELD.has(name)
  return false
}

export class DisorderStage {
  readonly #options: DisorderOptions
  readonly #prng: Prng
  readonly #held = new MinHeap<GeneratedRecord>()
  #lateCredit = 0
  #outOfOrderCredit = 0
  /** The newest event time written so far. */
  #streamTime = Number.NEGATIVE_INFINITY

  constructor(seed: Seed, options: DisorderOptions) {
    this.#options = options
    this.#prng = Prng.derive(seed, 'disorder')
  }

  /** Events accepted but not emitted yet. */
  get pending(): number {
    return this.#held.size
  }

  /** Accepts the next simulated event (in event-time order) and appends what is due to `out`. */
  push(simulated: SimulatedEvent, out: GeneratedRecord[]): void {
    const now = simulated.event.occurred_at
    this.#lateCredit += this.#options.lateShare
    this.#outOfOrderCredit += this.#options.outOfOrderShare
    const record: GeneratedRecord = { ...simulated, timestamp: now, duplicate: false, delay: 'none' }
    const delay = mayBeHeld(simulated) ? this.#drawDelay() : 'none'
    if (delay === 'none') this.#emit(record, out)
    else this.#held.push(now + this.#delayMs(delay), { ...record, delay })
    this.#release(this.#streamTime, out)
  }

  /** Spends the share credits on an event that may be held. */
  #drawDelay(): Delay {
    if (this.#lateCredit >= 1 || (this.#lateCredit > 0 && this.#prng.next() < this.#lateCredit)) {
      this.#lateCredit -= 1
      return 'late'
    }
    if (
      this.#outOfOrderCredit >= 1 ||
      (this.#outOfOrderCredit > 0 && this.#prng.next() < this.#outOfOrderCredit)
    ) {
      this.#outOfOrderCredit -= 1
      return 'out-of-order'
    }
    return 'none'
  }

  #delayMs(delay: Exclude<Delay, 'none'>): number {
    return delay === 'late' ? this.#options.lateByMs : this.#prng.int(1, this.#options.maxOutOfOrderMs)
  }

  /** Emits everything still held, in release order. */
  flush(out: GeneratedRecord[]): void {
    this.#release(Number.POSITIVE_INFINITY, out)
  }

  /**
   * Releases held records due by `now`, the newest event time written: a record held for d ms comes
   * out behind a written event at least d ms younger than itself.
   */
  #release(now: number, out: GeneratedRecord[]): void {
    for (
      let due = this.#held.peekPriority();
      due !== undefined && due <= now;
      due = this.#held.peekPriority()
    ) {
      this.#emit(this.#held.pop() as GeneratedRecord, out)
    }
  }

  #emit(record: GeneratedRecord, out: GeneratedRecord[]): void {
    out.push(record)
    if (record.timestamp > this.#streamTime) this.#streamTime = record.timestamp
    if (this.#options.duplicateShare > 0 && this.#prng.chance(this.#options.duplicateShare)) {
      out.push({ ...record, duplicate: true })
    }
  }
}
