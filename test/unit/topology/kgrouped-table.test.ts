// Table re-grouping with adder and subtractor: counts per team stay right when an agent moves team or
// leaves, and a property test against a naive reference on random moves.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Materialized, Serdes, StreamsBuilder, TopologyTestDriver } from '../../../topology/index.js'

const str = Serdes.String()
const long = Serdes.Long()
interface Agent {
  team: string
  tokens: number
}
const agentSerde = Serdes.Json<Agent>()

function teams(caching: boolean) {
  const b = new StreamsBuilder()
  const agents = b.table<string, Agent>('agents', { keySerde: str, valueSerde: agentSerde })
  const byTeam = agents.groupBy((_id, a) => [a.team, a] as const, {
    name: 'agents-by-team',
    keySerde: str,
    valueSerde: agentSerde,
  })
  const mat = <V>(name: string) =>
    caching ? Materialized.as<string, V>(name) : Materialized.as<string, V>(name).withCachingDisabled()
  byTeam.count(mat('team-size')).toStream().to('team-size', { valueSerde: long })
  byTeam
    .aggregate(
      () => 0,
      (_t, a, sum) => sum + a.tokens,
      (_t, a, sum) => sum - a.tokens,
      mat<number>('team-tokens').withValueSerde(long),
    )
    .toStream()
    .to('team-tokens', { valueSerde: long })
  byTeam
    .reduce(
      (a, v) => ({ team: a.team, tokens: a.tokens + v.tokens }),
      (a, v) => ({ team: a.team, tokens: a.tokens - v.tokens }),
      mat<Agent>('team-reduce').withValueSerde(agentSerde),
    )
    .toStream()
    .to('team-reduce', { valueSerde: agentSerde })
  return b.build()
}

describe('KGroupedTable', () => {
  it('moves an agent from one team to another: the old team shrinks, the new one grows', () => {
    const driver = new TopologyTestDriver(teams(false))
    const input = driver.createInputTopic('agents', str, agentSerde)
    input.pipeInput('ann', { team: 'red', tokens: 10 })
    input.pipeInput('bob', { team: 'red', tokens: 5 })
    input.pipeInput('ann', { team: 'blue', tokens: 10 })
    const sizes = driver.createOutputTopic('team-size', str, long).readKeyValuesToList()
    expect(sizes).toEqual([
      ['red', 1],
      ['red', 2],
      ['red', 1],
      ['blue', 1],
    ])
    expect(driver.createOutputTopic('team-tokens', str, long).readKeyValuesToMap()).toEqual(
      new Map([
        ['red', 5],
        ['blue', 10],
      ]),
    )
  })

  it('a deleted agent (tombstone) leaves its team', () => {
    const driver = new TopologyTestDriver(teams(true))
    const input = driver.createInputTopic('agents', str, agentSerde)
    input.pipeInput('ann', { team: 'red', tokens: 10 })
    input.pipeInput('ann', null)
    expect(driver.getKeyValueStore<string, number>('team-size').get('red')).toBe(0)
    expect(driver.getKeyValueStore<string, number>('team-tokens').get('red')).toBe(0)
  })

  it('an update within the same team subtracts the old value before adding the new', () => {
    const driver = new TopologyTestDriver(teams(true))
    const input = driver.createInputTopic('agents', str, agentSerde)
    input.pipeInput('ann', { team: 'red', tokens: 10 })
    input.pipeInput('ann', { team: 'red', tokens: 7 })
    expect(driver.getKeyValueStore<string, number>('team-size').get('red')).toBe(1)
    expect(driver.getKeyValueStore<string, number>('team-tokens').get('red')).toBe(7)
  })

  it('stays equal to a naive recomputation after random moves and deletes (property)', () => {
    const ops = fc.array(
      fc.tuple(
        fc.constantFrom('a1', 'a2', 'a3', 'a4', 'a5', 'a6'),
        fc.option(
          fc.record({
            team: fc.constantFrom('red', 'blue', 'green'),
            tokens: fc.integer({ min: 0, max: 100 }),
          }),
          {
            freq: 5,
          },
        ),
      ),
      { maxLength: 50 },
    )
    fc.assert(
      fc.property(ops, fc.boolean(), fc.integer({ min: 1, max: 8 }), (input, caching, commitEvery) => {
        const driver = new TopologyTestDriver(teams(caching), { autoCommit: false })
        const topic = driver.createInputTopic('agents', str, agentSerde)
        const table = new Map<string, Agent>()
        input.forEach(([id, agent], i) => {
          topic.pipeInput(id, agent, i)
          if (agent === null) table.delete(id)
          else table.set(id, agent)
          if (i % commitEvery === 0) driver.commit()
        })
        driver.commit()
        const size = new Map<string, number>()
        const tokens = new Map<string, number>()
        for (const a of table.values()) {
          size.set(a.team, (size.get(a.team) ?? 0) + 1)
          tokens.set(a.team, (tokens.get(a.team) ?? 0) + a.tokens)
        }
        const nonZero = (m: Map<string | null, number>) => new Map([...m].filter(([, v]) => v !== 0))
        expect(nonZero(driver.createOutputTopic('team-size', str, long).readKeyValuesToMap())).toEqual(size)
        expect(nonZero(new Map(driver.getKeyValueStore<string, number>('team-size').all()))).toEqual(size)
        const summed = driver.createOutputTopic('team-tokens', str, long).readKeyValuesToMap()
        for (const team of size.keys()) expect(summed.get(team), team).toBe(tokens.get(team))
        const reduced = driver.createOutputTopic('team-reduce', str, agentSerde).readKeyValuesToMap()
        for (const team of size.keys()) expect(reduced.get(team)?.tokens, team).toBe(tokens.get(team))
      }),
      { numRuns: 150 },
    )
  })
})
