// Serdes for the keys of windowed results (Kafka Streams' WindowedSerdes), in Kafka's binary layouts so
// that a JVM consumer reads them with its own WindowedSerdes:
//   time windows:    [serialized key][window start: int64 BE]           (TimeWindowedSerializer)
//   session windows: [serialized key][session end: int64 BE][start: int64 BE] (SessionWindowedSerializer)
// A time-windowed key does not carry its end: the deserializer is told the window size.

import {
  type ChangelogKeyCodec,
  sessionChangelogKeyCodec,
  timeWindowedKeyCodec,
} from '../internals/state/window-changelog-key.js'
import type { Serde } from '../serdes.js'
import { requireMillis } from './duration.js'
import { Window, Windowed } from './window.js'

function windowedSerde<K>(codec: ChangelogKeyCodec<K>): Serde<Windowed<K>> {
  return {
    serialize: (topic, windowed) =>
      codec.encode(topic, windowed.key, windowed.window.start, windowed.window.end),
    deserialize: (topic, bytes) => {
      const { key, start, end } = codec.decode(topic, bytes)
      return new Windowed(key, new Window(start, end))
    },
  }
}

export const WindowedSerdes = {
  /**
   * Keys of tumbling, hopping or sliding window results; `windowSizeMs` restores each window's end (the
   * time difference for sliding windows, which may be 0, as Kafka's TimeWindowedSerde allows).
   */
  timeWindowed<K>(keySerde: Serde<K>, windowSizeMs: number): Serde<Windowed<K>> {
    return windowedSerde(timeWindowedKeyCodec(keySerde, requireMillis(windowSizeMs, 'windowSize', 0)))
  },
  /** Keys of session window results. */
  sessionWindowed<K>(keySerde: Serde<K>): Serde<Windowed<K>> {
    return windowedSerde(sessionChangelogKeyCodec(keySerde))
  },
} as const
