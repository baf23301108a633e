// The key of every time-windowed output of the topology: the UTF-8 group key, then the window start
// as a big-endian int64 (Kafka Streams' TimeWindowedSerializer layout; the end is start + size).
import { type Serde, Serdes, type TimeWindows, type Windowed, WindowedSerdes } from '../topology/index.js'

export function windowedKey(windows: TimeWindows | number): Serde<Windowed<string>> {
  return WindowedSerdes.timeWindowed(Serdes.String(), typeof windows === 'number' ? windows : windows.sizeMs)
}
