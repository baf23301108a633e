// The example of the README's "Writing a topology" section, verbatim apart from the imports, so the
// documentation cannot drift from the API.
import { expect, it } from 'vitest'
import { Materialized, Serdes, StreamsBuilder, TopologyTestDriver } from '../../../topology/index.js'

it('runs the README example', () => {
  // --- README example start
  const str = Serdes.String()
  const builder = new StreamsBuilder()
  builder
    .table<string, string>('agent_status', { keySerde: str, valueSerde: str }) // agent id -> status
    .groupBy((agentId, status) => [status, agentId], { name: 'by-status', keySerde: str, valueSerde: str })
    .count(Materialized.as('agents-per-status'))
    .toStream()
    .to('agents_per_status', { keySerde: str, valueSerde: Serdes.Long() })
  const topology = builder.build()

  const driver = new TopologyTestDriver(topology) // no broker: milliseconds
  const input = driver.createInputTopic('agent_status', str, str)
  input.pipeInput('agent-1', 'idle', 1_000)
  input.pipeInput('agent-2', 'idle', 2_000)
  input.pipeInput('agent-1', 'busy', 3_000) // agent-1 moves: idle goes down, busy up
  const output = driver.createOutputTopic('agents_per_status', str, Serdes.Long())
  const counts = output.readKeyValuesToList() // [['idle', 1], ['idle', 2], ['idle', 1], ['busy', 1]]
  // --- README example end
  expect(counts).toEqual([
    ['idle', 1],
    ['idle', 2],
    ['idle', 1],
    ['busy', 1],
  ])
  expect(driver.getKeyValueStore('agents-per-status').get('idle')).toBe(1)
  expect(topology.repartitionTopics('app')).toEqual(['app-by-status-repartition'])
})
