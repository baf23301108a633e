// Agent utilization (busy time per agent and template and window) and activity sessions, on
// generated agent events (duplicates, out-of-order and late events, plus status changes this test
// holds back itself, since the generator keeps each agent's status changes in order) against the
// naive references of test/support/utilization-references.ts; then the edge cases by hand.
import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { ProcessorConfigError } from '../../../processors/config.js'
import { dropDuplicates } from '../../../processors/dedup.js'
import {
  type AgentSession,
  type AgentUtilization,
  agentSessions,
  agentUtilization,
  type TemplateUtilization,
} from '../../../processors/metrics/utilization.js'
import { avroType } from '../../../schemas/bounded-avro-types.js'
import { type AgentEvent, type GeneratedRecord, generateRecords } from '../../../schemas/index.js'
import {
  type Serde,
  Serdes,
  StreamsBuilder,
  type TestInputTopic,
  TopologyTestDriver,
  type TopologyTestDriverOptions,
  type Windowed,
  WindowedSerdes,
} from '../../../topology/index.js'
import { processorSerdes } from '../../support/processor-serdes.js'
import { busyReference, type RefAgentEvent, sessionReference } from '../../support/utilization-references.js'

const serdes = await processorSerdes()
const str = Serdes.String()
const TOPIC = 'agent_events'
const OUT = { byAgent: 'util.agents', byTemplate: 'util.templates', sessions: 'util.sessions' }

const schema = (name: string) =>
  avroType(
    JSON.parse(readFileSync(new URL(`../../../schemas/avro/outputs/${name}.avsc`, import.meta.url), 'utf8')),
  )
const schemas = {
  byAgent: schema('agent_utilization'),
  byTemplate: schema('template_utilization'),
  sessions: schema('agent_sessions'),
}

interface Setup {
  windowMs: number
  graceMs: number
  gapMs: number
  /** Where the stores keep their entries (the TopologyTestDriver's option); memory by default. */
  stateStore?: 'memory' | 'lmdb'
}

function topology(setup: Setup) {
  const builder = new StreamsBuilder()
  const events = dropDuplicates(
    builder,
    builder.stream<string, AgentEvent>(TOPIC, { keySerde: str, valueSerde: serdes.agentEvents }),
    {
      name: 'agent-events-dedup',
      keySerde: str,
      horizonMs: 3_600_000,
      eventId: (e) => e.event_id,
      eventTime: (e) => e.occurred_at,
    },
  )
  agentUtilization(
    builder,
    events,
    { windowMs: setup.windowMs, graceMs: setup.graceMs },
    { byAgent: OUT.byAgent, byTemplate: OUT.byTemplate },
    { byAgent: Serdes.Json(), byTemplate: Serdes.Json() },
  )
  agentSessions(events, { inactivityGapMs: setup.gapMs, graceMs: setup.graceMs }, OUT.sessions, Serdes.Json())
  return builder.build()
}

class Run {
  readonly driver: TopologyTestDriver
  readonly input: TestInputTopic<string, AgentEvent>
  readonly sent: RefAgentEvent[] = []

  constructor(
    readonly setup: Setup,
    options: TopologyTestDriverOptions = {},
  ) {
    this.driver = new TopologyTestDriver(topology(setup), {
      ...(setup.stateStore === undefined
        ? {}
        : { stateStore: setup.stateStore, windowStateStore: setup.stateStore }),
      ...options,
    })
    this.input = this.driver.createInputTopic(TOPIC, str, serdes.agentEvents)
  }

  pipe(e: AgentEvent): void {
    this.input.pipeInput(e.agent_id, e, e.occurred_at)
  }

  read<V>(topic: string, key: Serde<Windowed<string>>, value: Serde<V>) {
    return this.driver.createOutputTopic<Windowed<string>, V>(topic, key, value).readRecordsToList()
  }

  /** The last value per `key@windowStart`, and every value, for the two utilization outputs. */
  utilization() {
    const key = WindowedSerdes.timeWindowed(str, this.setup.windowMs)
    const last = <V>(records: { key: Windowed<string> | null; value: V | null }[]) => {
      const out = new Map<string, V>()
      for (const r of records) out.set(`${r.key?.key}@${r.key?.window.start}`, r.value as V)
      return out
    }
    const byAgent = this.read(OUT.byAgent, key, Serdes.Json<AgentUtilization>())
    const byTemplate = this.read(OUT.byTemplate, key, Serdes.Json<TemplateUtilization>())
    return {
      byAgentRecords: byAgent,
      byTemplateRecords: byTemplate,
      byAgent: last(byAgent),
      byTemplate: last(byTemplate),
    }
  }

  sessions() {
    return this.read(OUT.sessions, WindowedSerdes.sessionWindowed(str), Serdes.Json<AgentSession>())
  }
}

const NS = 'agent_party.events.'
let seq = 0
function event(agent: string, at: number, type: string, body: object): AgentEvent {
  seq++
  return {
    event_id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    occurred_at: at,
    agent_id: agent,
    payload: { [`${NS}${type}`]: body },
  } as unknown as AgentEvent
}
const created = (agent: string, at: number, template = 'tpl-a') =>
  event(agent, at, 'AgentCreated', {
    template_id: template,
    version: 1,
    name: agent,
    capabilities: [],
    model: null,
  })
const status = (agent: string, at: number, to: string, from = 'UNKNOWN') =>
  event(agent, at, 'AgentStatusChanged', { previous_status: from, status: to })
const terminated = (agent: string, at: number) => event(agent, at, 'AgentTerminated', { reason: 'test' })
const capability = (agent: string, at: number) =>
  event(agent, at, 'CapabilityAdded', { capability: { name: 'x', category: 'y' } })

const kindOf = (e: { payload: object }) => (Object.keys(e.payload)[0] ?? '').split('.').pop()

/**
 * The generated agent events, in arrival order, with a share of status changes held back a little
 * (past the grace now and then) or a lot (past the windows), so that some arrive after newer ones.
 */
function generatedAgentEvents(seed: number): GeneratedRecord[] {
  const all = [
    ...generateRecords({
      seed,
      count: 20_000,
      rate: 20,
      baseTime: Date.UTC(2026, 0, 1),
      duplicateShare: 0.02,
      outOfOrderShare: 0.05,
      lateShare: 0.02,
      lateByMs: 90_000,
    }),
  ].filter((r) => r.family === 'agent_events')
  const out: GeneratedRecord[] = []
  const held: { due: number; r: GeneratedRecord }[] = []
  let n = 0
  for (const r of all) {
    const t = r.timestamp
    for (let i = 0; i < held.length; ) {
      if ((held[i] as { due: number }).due <= t) {
        out.push((held[i] as { r: GeneratedRecord }).r)
        held.splice(i, 1)
      } else i++
    }
    if (!r.duplicate && kindOf(r.event) === 'AgentStatusChanged' && n++ % 23 === 0) {
      held.push({ due: t + (n % 3 === 0 ? 75_000 : 1 + ((n * 7919) % 20_000)), r })
    } else out.push(r)
  }
  for (const h of held) out.push(h.r)
  return out
}

function distinct(records: readonly GeneratedRecord[]): RefAgentEvent[] {
  const seen = new Set<string>()
  const out: RefAgentEvent[] = []
  for (const r of records) {
    const e = r.event as unknown as RefAgentEvent
    if (seen.has(e.event_id)) continue
    seen.add(e.event_id)
    out.push(e)
  }
  return out
}

describe.each([
  { windowMs: 30_000, graceMs: 10_000, gapMs: 300_000, seed: 5 },
  { windowMs: 60_000, graceMs: 0, gapMs: 20_000, seed: 9 },
  // The windows and sessions in LMDB: the same results, and the same after a restart from the changelogs.
  { windowMs: 60_000, graceMs: 0, gapMs: 20_000, seed: 9, stateStore: 'lmdb' as const },
])(
  'utilization and sessions on generated events (window $windowMs ms, grace $graceMs ms, gap $gapMs ms, stores in $stateStore)',
  (setup) => {
    const records = generatedAgentEvents(setup.seed)
    const events = distinct(records)
    const run = new Run(setup)
    afterAll(() => run.driver.close())
    for (const r of records) run.pipe(r.event as AgentEvent)
    const out = run.utilization()
    const expected = busyReference(events, setup.windowMs, setup.graceMs)

    it('the stream has what the rules are about', () => {
      expect(events.length).toBeLessThan(records.length)
      expect(expected.stale).toBeGreaterThan(0)
      expect(expected.clamped).toBeGreaterThan(0)
      expect(expected.byAgent.size).toBeGreaterThan(500)
    })

    it('busy time per agent and window equals the reference', () => {
      const got = new Map(
        [...out.byAgent].map(([k, v]) => [k, { busy_ms: v.busy_ms, template_id: v.template_id }] as const),
      )
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected.byAgent))
      for (const [k, v] of out.byAgent) {
        expect(v.utilization).toBeCloseTo(v.busy_ms / setup.windowMs, 12)
        expect(`${v.agent_id}@${v.window_start}`).toBe(k)
        expect(v.window_end - v.window_start).toBe(setup.windowMs)
        expect(v.busy_ms).toBeGreaterThan(0)
        expect(v.busy_ms).toBeLessThanOrEqual(setup.windowMs)
      }
    })

    it('busy time per template and window equals the reference', () => {
      const got = new Map([...out.byTemplate].map(([k, v]) => [k, v.busy_ms] as const))
      expect(new Set([...expected.byTemplate.keys()].map((k) => k.split('@')[0])).size).toBeGreaterThan(2)
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected.byTemplate))
      for (const v of out.byTemplate.values())
        expect(v.utilization).toBeCloseTo(v.busy_ms / setup.windowMs, 12)
    })

    it('sessions equal the reference, merged-away sessions deleted by tombstones', () => {
      const records = run.sessions()
      const final = new Map<string, AgentSession>()
      let tombstones = 0
      for (const r of records) {
        const k = `${r.key?.key}@${r.key?.window.start}-${r.key?.window.end}`
        if (r.value === null) {
          tombstones++
          expect(final.has(k)).toBe(true)
          final.delete(k)
        } else {
          expect(r.value.window_start).toBe(r.key?.window.start)
          expect(r.value.window_end).toBe(r.key?.window.end)
          final.set(k, r.value)
        }
      }
      const ref = sessionReference(events, setup.gapMs, setup.graceMs)
      expect(ref.merges).toBeGreaterThan(0)
      // With a 20 s gap and no grace, the AgentTerminated events held back 90 s miss their sessions.
      if (setup.gapMs < 60_000) expect(ref.late).toBeGreaterThan(0)
      expect(tombstones).toBeGreaterThan(0)
      expect(
        Object.fromEntries(
          [...final].map(([k, s]) => [
            k,
            [s.events, s.first_event_at, s.last_event_at, s.status_changes, s.agent_id] as const,
          ]),
        ),
      ).toEqual(
        Object.fromEntries(
          [...ref.sessions].map(([k, s]) => [
            k,
            [s.events, s.first_event_at, s.last_event_at, s.status_changes, s.agent_id] as const,
          ]),
        ),
      )
    })

    it('a restart from the changelogs in the middle of the stream changes nothing', () => {
      const half = Math.floor(records.length / 2)
      const one = new Run(setup, { applicationId: 'util' })
      for (const r of records.slice(0, half)) one.pipe(r.event as AgentEvent)
      const changelogs = Object.fromEntries(
        one.driver
          .producedTopicNames()
          .filter((t) => t.endsWith('-changelog'))
          .map((t) => [
            t,
            one.driver
              .createOutputTopic(t, Serdes.Buffer(), Serdes.Buffer())
              .readKeyValuesToList()
              .map(([key, value]) => ({ key, value })),
          ]),
      )
      expect(Object.keys(changelogs)).toEqual(
        expect.arrayContaining(['util-util-busy-agents-changelog', 'util-util-busy-clock-changelog']),
      )
      const first = one.utilization()
      const sessionsBefore = one.sessions()
      one.driver.close()
      const two = new Run(setup, { applicationId: 'util', changelogs })
      for (const r of records.slice(half)) two.pipe(r.event as AgentEvent)
      const second = two.utilization()
      const busy = new Map([...first.byAgent, ...second.byAgent].map(([k, v]) => [k, v.busy_ms] as const))
      expect(Object.fromEntries(busy)).toEqual(
        Object.fromEntries([...expected.byAgent].map(([k, v]) => [k, v.busy_ms] as const)),
      )
      const byTemplate = new Map(
        [...first.byTemplate, ...second.byTemplate].map(([k, v]) => [k, v.busy_ms] as const),
      )
      expect(Object.fromEntries(byTemplate)).toEqual(Object.fromEntries(expected.byTemplate))
      const sessions = new Map<string, number>()
      for (const r of [...sessionsBefore, ...two.sessions()]) {
        const k = `${r.key?.key}@${r.key?.window.start}-${r.key?.window.end}`
        if (r.value === null) sessions.delete(k)
        else sessions.set(k, r.value.events)
      }
      const ref = sessionReference(events, setup.gapMs, setup.graceMs)
      expect(Object.fromEntries(sessions)).toEqual(
        Object.fromEntries([...ref.sessions].map(([k, s]) => [k, s.events] as const)),
      )
      two.driver.close()
    })

    it('every output value is valid for its Avro schema', () => {
      for (const r of out.byAgentRecords) expect(schemas.byAgent.isValid(r.value)).toBe(true)
      for (const r of out.byTemplateRecords) expect(schemas.byTemplate.isValid(r.value)).toBe(true)
      for (const r of run.sessions())
        if (r.value !== null) expect(schemas.sessions.isValid(r.value)).toBe(true)
    })
  },
)

const MIN = 60_000
const S = 1000

describe('busy time by hand (1 min windows, 30 s grace)', () => {
  const setup = { windowMs: MIN, graceMs: 30 * S, gapMs: 5 * MIN }

  it('splits a busy interval at the window boundaries', () => {
    const run = new Run(setup)
    run.pipe(created('a', 0))
    run.pipe(status('a', 5 * S, 'BUSY'))
    run.pipe(status('a', 130 * S, 'IDLE'))
    expect(Object.fromEntries([...run.utilization().byAgent].map(([k, v]) => [k, v.busy_ms]))).toEqual({
      'a@0': 55 * S,
      'a@60000': 60 * S,
      'a@120000': 10 * S,
    })
  })

  it('emits an open busy interval window by window as event time passes each end plus grace', () => {
    const run = new Run(setup)
    run.pipe(created('a', 0))
    run.pipe(status('a', 10 * S, 'BUSY'))
    run.pipe(created('b', 89 * S))
    expect(run.utilization().byAgent.size).toBe(0)
    run.pipe(capability('b', 90 * S))
    const first = run.utilization()
    expect([...first.byAgent.values()].map((v) => [v.window_start, v.busy_ms, v.utilization])).toEqual([
      [0, 50 * S, 50 / 60],
    ])
    expect([...first.byTemplate.values()].map((v) => [v.template_id, v.window_start, v.busy_ms])).toEqual([
      ['tpl-a', 0, 50 * S],
    ])
    // Event time jumps by many windows: every window gets its minute, none is dropped as late.
    run.pipe(capability('b', 400 * S))
    expect([...run.utilization().byAgent.values()].map((v) => [v.window_start, v.busy_ms])).toEqual([
      [60 * S, 60 * S],
      [120 * S, 60 * S],
      [180 * S, 60 * S],
      [240 * S, 60 * S],
      [300 * S, 60 * S],
    ])
    run.pipe(status('a', 410 * S, 'IDLE'))
    expect([...run.utilization().byAgent.values()].map((v) => [v.window_start, v.busy_ms])).toEqual([
      [360 * S, 50 * S],
    ])
  })

  it('cuts all busy agents window by window when event time jumps, so no window is dropped as late', () => {
    const run = new Run(setup)
    for (const agent of ['a', 'b', 'c']) {
      run.pipe(created(agent, 0, 'tpl-j'))
      run.pipe(status(agent, 10 * S, 'BUSY'))
    }
    run.pipe(created('z', 400 * S))
    const out = run.utilization()
    for (const agent of ['a', 'b', 'c']) {
      expect(out.byAgent.get(`${agent}@0`)?.busy_ms).toBe(50 * S)
      for (let w = 60 * S; w <= 300 * S; w += 60 * S)
        expect(out.byAgent.get(`${agent}@${w}`)?.busy_ms).toBe(60 * S)
    }
    expect(out.byAgent.size).toBe(18)
    expect([...out.byTemplate.values()].map((v) => [v.window_start, v.busy_ms, v.utilization])).toEqual([
      [0, 150 * S, 2.5],
      [60 * S, 180 * S, 3],
      [120 * S, 180 * S, 3],
      [180 * S, 180 * S, 3],
      [240 * S, 180 * S, 3],
      [300 * S, 180 * S, 3],
    ])
  })

  it('ignores a status change older than the last applied one', () => {
    const run = new Run(setup)
    run.pipe(created('a', 0))
    run.pipe(status('a', 10 * S, 'BUSY'))
    run.pipe(status('a', 40 * S, 'IDLE'))
    run.pipe(status('a', 25 * S, 'IDLE')) // older than the IDLE at 40 s: stale, no negative interval
    run.pipe(status('a', 20 * S, 'BUSY')) // stale too: a stays IDLE
    run.pipe(created('b', 100 * S))
    expect(Object.fromEntries([...run.utilization().byAgent].map(([k, v]) => [k, v.busy_ms]))).toEqual({
      'a@0': 30 * S,
    })
  })

  it('applies a change older than the settled time at the settled time', () => {
    const run = new Run(setup)
    run.pipe(created('a', 0))
    run.pipe(created('b', 125 * S)) // settles 60 s
    run.pipe(status('a', 30 * S, 'BUSY')) // newer than a's creation, older than 60 s: BUSY from 60 s
    run.pipe(status('a', 150 * S, 'IDLE'))
    run.pipe(created('c', 300 * S))
    expect(Object.fromEntries([...run.utilization().byAgent].map(([k, v]) => [k, v.busy_ms]))).toEqual({
      'a@60000': 60 * S,
      'a@120000': 30 * S,
    })
  })

  it('ends the busy time at AgentTerminated, a late one at the settled time, and ignores what follows', () => {
    const run = new Run(setup)
    run.pipe(created('a', 0))
    run.pipe(status('a', 10 * S, 'BUSY'))
    run.pipe(terminated('a', 45 * S))
    run.pipe(status('a', 50 * S, 'BUSY')) // after termination: ignored
    run.pipe(created('b', 0))
    run.pipe(status('b', 10 * S, 'BUSY'))
    run.pipe(created('c', 200 * S)) // settles 120 s: b busy up to there
    run.pipe(terminated('b', 50 * S)) // late: ends b at 120 s
    run.pipe(created('d', 500 * S))
    expect(Object.fromEntries([...run.utilization().byAgent].map(([k, v]) => [k, v.busy_ms]))).toEqual({
      'a@0': 35 * S,
      'b@0': 50 * S,
      'b@60000': 60 * S,
    })
  })

  it('sums the agents of a template; busy time before AgentCreated counts under UNKNOWN', () => {
    const run = new Run(setup)
    run.pipe(created('a', 0, 'tpl-x'))
    run.pipe(created('b', 0, 'tpl-x'))
    run.pipe(status('a', 0, 'BUSY'))
    run.pipe(status('b', 30 * S, 'BUSY'))
    run.pipe(status('c', 0, 'BUSY')) // no AgentCreated yet
    run.pipe(status('c', 20 * S, 'IDLE'))
    run.pipe(created('c', 21 * S, 'tpl-y'))
    run.pipe(status('c', 40 * S, 'BUSY'))
    run.pipe(status('c', 50 * S, 'IDLE'))
    run.pipe(created('z', 95 * S, 'tpl-z'))
    const out = run.utilization()
    expect(Object.fromEntries([...out.byTemplate].map(([k, v]) => [k, [v.busy_ms, v.utilization]]))).toEqual({
      'UNKNOWN@0': [20 * S, 20 / 60],
      'tpl-y@0': [10 * S, 10 / 60],
      'tpl-x@0': [90 * S, 90 / 60],
    })
    expect(out.byAgent.get('c@0')).toMatchObject({ busy_ms: 30 * S, template_id: 'tpl-y' })
  })

  it('rejects bad options, naming the setting', () => {
    const build = (options: object) => () =>
      agentUtilization(
        new StreamsBuilder(),
        new StreamsBuilder().stream<string, AgentEvent>('x'),
        options,
        { byAgent: 'a', byTemplate: 'b' },
        { byAgent: Serdes.Json(), byTemplate: Serdes.Json() },
      )
    expect(build({ windowMs: 0 })).toThrow(ProcessorConfigError)
    expect(build({ windowMs: 1.5 })).toThrow(/utilization\.windowMs/)
    expect(build({ graceMs: -1 })).toThrow(/utilization\.graceMs/)
    const sessions = (options: object) => () =>
      agentSessions(new StreamsBuilder().stream<string, AgentEvent>('x'), options, 's', Serdes.Json())
    expect(sessions({ inactivityGapMs: 0 })).toThrow(/sessions\.inactivityGapMs/)
    expect(sessions({ graceMs: Number.NaN })).toThrow(ProcessorConfigError)
  })
})

describe('sessions by hand (5 min gap, 30 s grace)', () => {
  const setup = { windowMs: MIN, graceMs: 30 * S, gapMs: 5 * MIN }

  it('emits every update; a bridging event merges two sessions and deletes both old keys', () => {
    const run = new Run(setup)
    run.pipe(created('a', 0))
    run.pipe(status('a', 60 * S, 'BUSY'))
    run.pipe(status('a', 370 * S, 'IDLE')) // more than the gap after 60 s: a second session
    const before = run
      .sessions()
      .map((r) => [r.key?.window.start, r.key?.window.end, r.value?.events ?? null])
    expect(before).toEqual([
      [0, 0, 1],
      [0, 0, null],
      [0, 60 * S, 2],
      [370 * S, 370 * S, 1],
    ])
    run.pipe(capability('a', 200 * S))
    const merged = run.sessions().map((r) => [r.key?.key, r.key?.window.start, r.key?.window.end, r.value])
    expect(merged).toEqual([
      ['a', 0, 60 * S, null],
      ['a', 370 * S, 370 * S, null],
      [
        'a',
        0,
        370 * S,
        {
          agent_id: 'a',
          window_start: 0,
          window_end: 370 * S,
          events: 4,
          first_event_at: 0,
          last_event_at: 370 * S,
          status_changes: 2,
        },
      ],
    ])
  })

  it('a session past gap + grace has left the store: a later event near it starts a new one', () => {
    const run = new Run(setup)
    run.pipe(created('a', 0))
    run.pipe(status('a', 60 * S, 'BUSY'))
    run.pipe(status('a', 10 * MIN, 'IDLE')) // [0, 60 s] ends before 10 min - 5.5 min
    run.sessions()
    run.pipe(capability('a', 5 * MIN)) // within the gap of both, but [0, 60 s] is closed
    expect(
      run.sessions().map((r) => [r.key?.window.start, r.key?.window.end, r.value?.events ?? null]),
    ).toEqual([
      [10 * MIN, 10 * MIN, null],
      [5 * MIN, 10 * MIN, 2],
    ])
  })

  it('drops an event whose session closed (end before event time - gap - grace)', () => {
    const run = new Run(setup)
    run.pipe(created('a', 0))
    run.pipe(created('b', 20 * MIN))
    run.sessions()
    run.pipe(capability('a', 60 * S)) // would make [0, 60 s]: ends before 20 min - 5.5 min
    expect(run.sessions()).toEqual([])
    run.pipe(capability('b', 16 * MIN)) // within gap + grace of b's session
    expect(run.sessions().map((r) => [r.key?.key, r.key?.window.start, r.value?.events ?? null])).toEqual([
      ['b', 20 * MIN, null],
      ['b', 16 * MIN, 2],
    ])
  })
})
