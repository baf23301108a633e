// Duplicate events (a producer's retry repeats event_id) are dropped within the horizon and counted,
// also after a restart (the ids come back from the changelog), and an id past the horizon is new again.
import { describe, expect, it } from 'vitest'
import { dropDuplicates } from '../../../processors/dedup.js'
import { engineSerde } from '../../../processors/event-serdes.js'
import { decodeSeenIds } from '../../../processors/seen-ids.js'
import { type AgentEvent, generateRecords } from '../../../schemas/index.js'
import { createEventSerde } from '../../../schemas/serde/create-event-serdes.js'
import { Serdes, StreamsBuilder, type Topology, TopologyTestDriver } from '../../../topology/index.js'

const agents = engineSerde(await createEventSerde('agent_events', { encoding: 'single-object' }))
const str = Serdes.String()
/** Reads the store's changelog values: the ids of a second, as documented in processors/seen-ids.ts. */
const seenIds = {
  serialize: () => null,
  deserialize: (_topic: string, bytes: Buffer) => decodeSeenIds(bytes),
}

function topology(horizonMs: number, dropped: string[]): Topology {
  const builder = new StreamsBuilder()
  const events = builder.stream<string, AgentEvent>('agent_events', { keySerde: str, valueSerde: agents })
  dropDuplicates(builder, events, {
    name: 'agent-dedup',
    keySerde: str,
    horizonMs,
    eventId: (e) => e.event_id,
    eventTime: (e) => e.occurred_at,
    onDuplicate: (_key, e) => dropped.push(e.event_id),
  }).to('out', { keySerde: str, valueSerde: agents })
  return builder.build()
}

function agentRecords(count: number, duplicateShare: number) {
  return [...generateRecords({ seed: 7, count, baseTime: Date.UTC(2026, 0, 1), duplicateShare })]
    .filter((r) => r.family === 'agent_events')
    .map((r) => ({ key: r.key, event: r.event as AgentEvent, timestamp: r.timestamp }))
}

describe('dropDuplicates', () => {
  it('passes the first copy of every event and drops the second, as a naive reading says', () => {
    const records = agentRecords(4000, 0.05)
    const seen = new Set<string>()
    const expected = records.filter(
      (r) => !seen.has(r.event.event_id) && seen.add(r.event.event_id) !== undefined,
    )
    expect(records.length - expected.length).toBeGreaterThan(0)
    const dropped: string[] = []
    const driver = new TopologyTestDriver(topology(3_600_000, dropped))
    const input = driver.createInputTopic('agent_events', str, agents)
    for (const r of records) input.pipeInput(r.key, r.event, r.timestamp)
    const out = driver.createOutputTopic('out', str, agents).readValuesToList()
    expect(out.map((e) => e?.event_id)).toEqual(expected.map((r) => r.event.event_id))
    expect(dropped).toHaveLength(records.length - expected.length)
  })

  it('remembers the ids after a restart from the changelog, and forgets them past the horizon', () => {
    const [first] = agentRecords(50, 0)
    if (first === undefined) throw new Error('no agent event generated')
    const one = new TopologyTestDriver(topology(60_000, []), { applicationId: 'app' })
    one.createInputTopic('agent_events', str, agents).pipeInput(first.key, first.event, first.timestamp)
    const changelog = one
      .createOutputTopic('app-agent-dedup-seen-id-buckets-changelog', Serdes.Buffer(), Serdes.Buffer())
      .readKeyValuesToList()
      .map(([key, value]) => ({ key, value }))
    one.close()

    const dropped: string[] = []
    const two = new TopologyTestDriver(topology(60_000, dropped), {
      applicationId: 'app',
      changelogs: { 'app-agent-dedup-seen-id-buckets-changelog': changelog },
    })
    const input = two.createInputTopic('agent_events', str, agents)
    input.pipeInput(first.key, first.event, first.timestamp) // the retry, after the restart: dropped
    const later = {
      ...first.event,
      event_id: '00000000-0000-4000-8000-000000000001',
      occurred_at: first.timestamp + 120_000,
    }
    input.pipeInput(first.key, later, later.occurred_at) // moves stream time past the horizon
    input.pipeInput(first.key, first.event, first.timestamp + 121_000) // the old id is new again
    const out = two.createOutputTopic('out', str, agents).readValuesToList()
    expect(dropped).toEqual([first.event.event_id])
    expect(out.map((e) => e?.event_id)).toEqual([later.event_id, first.event.event_id])
  })

  it('logs one record per second of event time and commit, and one tombstone per second expired', () => {
    const records = agentRecords(400, 0).slice(0, 30)
    const base = Date.UTC(2026, 0, 1, 0, 0, 0)
    const driver = new TopologyTestDriver(topology(60_000, []), { applicationId: 'app', autoCommit: false })
    const input = driver.createInputTopic('agent_events', str, agents)
    // 30 events in two seconds of event time, one commit.
    records.forEach((r, i) => {
      const at = base + (i < 20 ? 100 + i : 1500 + i)
      input.pipeInput(r.key, { ...r.event, occurred_at: at }, at)
    })
    driver.commit()
    const changelog = driver.createOutputTopic(
      'app-agent-dedup-seen-id-buckets-changelog',
      Serdes.Long(),
      seenIds,
    )
    const ids = records.map((r) => r.event.event_id)
    expect(changelog.readKeyValuesToList()).toEqual([
      [base, ids.slice(0, 20)],
      [base + 1000, ids.slice(20)],
    ])
    // Past the horizon: the first second goes (a tombstone); the second is kept until it is past too.
    const [next] = agentRecords(400, 0).slice(30)
    if (next === undefined) throw new Error('no agent event generated')
    const later = base + 61_000
    input.pipeInput(next.key, { ...next.event, occurred_at: later }, later)
    driver.commit()
    expect(changelog.readKeyValuesToList()).toEqual([
      [base + 61_000, [next.event.event_id]],
      [base, null],
    ])
    driver.close()
  })

  it('restores the ids from a changelog an earlier version wrote as JSON arrays', () => {
    const records = agentRecords(200, 0).slice(0, 3)
    const second = (at: number) => Math.floor(at / 1000) * 1000
    // The previous format: each second's ids as a JSON array (keys are longs, as they still are).
    const bySecond = new Map<number, string[]>()
    for (const r of records) {
      const at = second(r.event.occurred_at)
      bySecond.set(at, [...(bySecond.get(at) ?? []), r.event.event_id])
    }
    const changelog = [...bySecond].map(([at, ids]) => ({
      key: Serdes.Long().serialize('', at),
      value: Buffer.from(JSON.stringify(ids)),
    }))
    const dropped: string[] = []
    const driver = new TopologyTestDriver(topology(3_600_000, dropped), {
      applicationId: 'app',
      changelogs: { 'app-agent-dedup-seen-id-buckets-changelog': changelog },
    })
    const input = driver.createInputTopic('agent_events', str, agents)
    for (const r of records) input.pipeInput(r.key, r.event, r.timestamp)
    const fresh = { ...(records[0] as (typeof records)[number]).event, event_id: 'not-a-uuid' }
    input.pipeInput('a', fresh, fresh.occurred_at)
    input.pipeInput('a', fresh, fresh.occurred_at)
    expect(dropped).toEqual([...records.map((r) => r.event.event_id), 'not-a-uuid'])
    expect(
      driver
        .createOutputTopic('out', str, agents)
        .readValuesToList()
        .map((e) => e?.event_id),
    ).toEqual(['not-a-uuid'])
    driver.close()
  })

  it('refuses a horizon that is not a positive whole number of ms', () => {
    const builder = new StreamsBuilder()
    const events = builder.stream<string, AgentEvent>('agent_events', { keySerde: str, valueSerde: agents })
    expect(() =>
      dropDuplicates(builder, events, {
        name: 'd',
        keySerde: str,
        horizonMs: 0,
        eventId: (e) => e.event_id,
        eventTime: (e) => e.occurred_at,
      }),
    ).toThrow(/horizon/)
  })
})
