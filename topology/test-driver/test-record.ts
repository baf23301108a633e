// A record read from (or piped into) a topic of the test driver.
import type { Headers } from '../stream-record.js'

export interface TestRecord<K, V> {
  readonly key: K
  readonly value: V
  readonly timestamp: number
  readonly headers: Headers
}
