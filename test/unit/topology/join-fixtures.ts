// What the join tests share: the input of Kafka's "Join Semantics" tables (one key, records in
// timestamp order, `L` on the left input, `R` on the right), the driver topics of a two-input join,
// and the joiner that shows both sides.
import { Serdes, type TopologyTestDriver } from '../../../topology/index.js'

export const str = Serdes.String()

export const show = (l: string | null, r: string | null): string => `[${l}, ${r}]`

export const DOCS_INPUT: [number, 'L' | 'R', string | null][] = [
  [1, 'L', null],
  [2, 'R', null],
  [3, 'L', 'A'],
  [4, 'R', 'a'],
  [5, 'L', 'B'],
  [6, 'R', 'b'],
  [7, 'L', null],
  [8, 'R', null],
  [9, 'L', 'C'],
  [10, 'R', 'c'],
  [11, 'R', null],
  [12, 'L', null],
  [13, 'R', null],
  [14, 'R', 'd'],
  [15, 'L', 'D'],
]

/** The `left` and `right` inputs and the `out` output of a join topology, as string topics. */
export function joinTopics(driver: TopologyTestDriver) {
  return {
    driver,
    left: driver.createInputTopic('left', str, str),
    right: driver.createInputTopic('right', str, str),
    out: driver.createOutputTopic('out', str, str),
  }
}

/** Pipes the docs' input and returns the output as [timestamp, value] rows. */
export function runDocsTable({ left, right, out }: ReturnType<typeof joinTopics>): [number, string | null][] {
  for (const [ts, side, value] of DOCS_INPUT) (side === 'L' ? left : right).pipeInput('k', value, ts)
  return out.readRecordsToList().map((r) => [r.timestamp, r.value])
}
