// The flush listener of the time- and sliding-window aggregates' caches: each window a flush writes goes
// downstream as Change(new, old) keyed by Windowed<K>, stamped with the window's latest record timestamp.
import { Change } from '../../change.js'
import type { WindowFlushListener } from '../../internals/state/window-layer.js'
import type { ProcessorContext } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import { Window, Windowed } from '../window.js'
import type { ValueAndTimestamp } from './value-and-timestamp.js'

export function windowChangeForwarder<K, A>(
  context: ProcessorContext<Windowed<K>, Change<A>>,
): WindowFlushListener<K, ValueAndTimestamp<A>> {
  return (key, start, end, newValue, oldValue, timestamp) =>
    context.forward(
      new StreamRecord(
        new Windowed(key, new Window(start, end)),
        new Change(newValue?.value ?? null, oldValue?.value ?? null),
        newValue?.timestamp ?? timestamp,
      ),
    )
}
