// The alerts against deliberately naive references (test/support/alert-references.ts), on generated
// events with duplicates, out-of-order and late events, plus undecodable records; then each rule on
// small hand-built streams. The late records and dead letters the driver collects are written back to
// the late-record and dead-letter topics the way the Kafka runtime does (its own header layout), so
// the rate alerts read what they would read in production.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DEAD_LETTER_HEADERS } from '../../../kafka/dead-letter.js'
import { agentBusyAlerts } from '../../../processors/alerts/agent-busy-too-long.js'
import { type Alert, type AlertsOptions, resolveAlertsOptions } from '../../../processors/alerts/alert.js'
import { agentPartyAlerts } from '../../../processors/alerts/alerts.js'
import { BAD_EVENT_HEADERS, badEventRateAlerts } from '../../../processors/alerts/bad-event-rate.js'
import { formationFailureRateAlerts } from '../../../processors/alerts/formation-failure-rate.js'
import { taskNotStartedAlerts } from '../../../processors/alerts/task-not-started.js'
import { ProcessorConfigError } from '../../../processors/config.js'
import { dropDuplicates } from '../../../processors/dedup.js'
import { taskEntities } from '../../../processors/entities/tasks.js'
import { avroType } from '../../../schemas/bounded-avro-types.js'
import {
  type AgentEvent,
  type GeneratedRecord,
  generateRecords,
  type TaskEvent,
  type TeamEvent,
} from '../../../schemas/index.js'
import {
  type Headers,
  type KStream,
  type Serde,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  type Topology,
  TopologyTestDriver,
} from '../../../topology/index.js'
import { LATE_RECORD_HEADERS, lateRecordMessage } from '../../../topology/runtime/late-records.js'
import {
  agentBusyReference,
  badEventRateReference,
  type ExpectedAlert,
  formationRateReference,
  taskNotStartedReference,
} from '../../support/alert-references.js'
import { distinctEvents } from '../../support/entity-references.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const str = Serdes.String()
const json = Serdes.Json<Alert>()
const TOPICS = {
  agents: 'agent_events',
  teams: 'team_events',
  tasks: 'task_events',
  alerts: 'agent_party.alerts',
  late: 'test-app-late',
  dlq: 'test-app-dlq',
}
const alertSchema = avroType(
  JSON.parse(readFileSync(new URL('../../../schemas/avro/outputs/alerts.avsc', import.meta.url), 'utf8')),
)

interface Envelope {
  event_id: string
  occurred_at: number
}

/** The alerts topology on the three event topics, each deduplicated as the Agent Party topology does. */
function alertsTopology(windows: TimeWindows, options: AlertsOptions): Topology {
  const builder = new StreamsBuilder()
  const events = <E extends Envelope>(topic: string, valueSerde: Serde<E>): KStream<string, E> =>
    dropDuplicates(builder, builder.stream<string, E>(topic, { keySerde: str, valueSerde }), {
      name: `${topic.replace('_', '-')}-dedup`,
      keySerde: str,
      horizonMs: 3_600_000,
      eventId: (e) => e.event_id,
      eventTime: (e) => e.occurred_at,
    })
  const taskSnapshots = taskEntities(events(TOPICS.tasks, serdes.taskEvents), {
    key: str,
    snapshot: serdes.taskSnapshot,
  }).snapshots
  agentPartyAlerts(
    builder,
    {
      teamEvents: events(TOPICS.teams, serdes.teamEvents),
      taskSnapshots,
      agentEvents: events(TOPICS.agents, serdes.agentEvents),
      lateTopic: TOPICS.late,
      deadLetterTopic: TOPICS.dlq,
    },
    windows,
    options,
    { topic: TOPICS.alerts, valueSerde: json },
  )
  return builder.build()
}

/** Every alert written, checked for its key and its schema; without the message (the references have none). */
function readAlerts(driver: TopologyTestDriver): ExpectedAlert[] {
  const out: ExpectedAlert[] = []
  for (const record of driver.createOutputTopic(TOPICS.alerts, str, json).readRecordsToList()) {
    const alert = record.value as Alert
    expect(record.key).toBe(alert.alert_id)
    expect(record.timestamp).toBe(alert.event_time)
    expect(alertSchema.isValid(alert), JSON.stringify(alert)).toBe(true)
    expect(alert.message.length).toBeGreaterThan(10)
    const { message: _message, ...rest } = alert
    out.push(rest)
  }
  return out
}

const ofType = (alerts: readonly ExpectedAlert[], type: string) =>
  alerts.filter((a) => a.type === type).sort((a, b) => (a.alert_id < b.alert_id ? -1 : 1))

function headersOf(headers: Map<Buffer, Buffer> | Record<string, Buffer> | undefined): Headers {
  const entries = headers instanceof Map ? [...headers] : Object.entries(headers ?? {})
  return new Map(entries.map(([k, v]) => [k.toString(), v]))
}

describe('alerts on generated events', () => {
  const windows = TimeWindows.ofSizeAndGrace(10_000, 5_000)
  const options = {
    maxFormationFailureRate: 0.25,
    minFormations: 10,
    taskStartTimeoutMs: 1_000,
    agentMaxBusyMs: 2_000,
    checkIntervalMs: 300,
    maxLatePerMinute: 6,
    maxDeadLettersPerMinute: 12,
    badEventWindowMs: 10_000,
  }
  const generated: GeneratedRecord[] = [
    ...generateRecords({
      seed: 11,
      count: 20_000,
      rate: 100,
      baseTime: Date.UTC(2026, 0, 1),
      duplicateShare: 0.02,
      outOfOrderShare: 0.05,
      lateShare: 0.02,
      lateByMs: 30_000,
      formationFailureShare: 0.22,
    }),
  ].filter((r) => r.family !== 'system_events')
  // The generator never holds back a TaskStarted or a status change (only terminal events): hold back
  // some here, by 400 records (about 4 s of event time), so that tasks look pending and agents busy
  // for longer, and status changes come after later ones.
  const records: GeneratedRecord[] = []
  const held: { until: number; record: GeneratedRecord }[] = []
  generated.forEach((r, i) => {
    const name = Object.keys(r.event.payload)[0] ?? ''
    const holdable = name.endsWith('.TaskStarted') || name.endsWith('.AgentStatusChanged')
    if (holdable && (Math.imul(i + 7, 2246822519) >>> 0) / 2 ** 32 < 0.03)
      held.push({ until: i + 400, record: r })
    else records.push(r)
    while (held.length > 0 && (held[0] as (typeof held)[number]).until <= i) {
      records.push((held.shift() as (typeof held)[number]).record)
    }
  })
  for (const h of held) records.push(h.record)
  // Undecodable records on the team topic: few in the first half, more in the second.
  const garbage: { after: number; timestamp: number; bytes: Buffer }[] = []
  records.forEach((r, i) => {
    const share = i < records.length / 2 ? 0.001 : 0.006
    if ((Math.imul(i + 1, 2654435761) >>> 0) / 2 ** 32 < share) {
      garbage.push({ after: i, timestamp: r.timestamp, bytes: Buffer.from([0xff, i & 0xff, 0x01]) })
    }
  })

  const driver = new TopologyTestDriver(alertsTopology(windows, options), { deadLetterTopic: TOPICS.dlq })
  const inputs = {
    agent_events: driver.createInputTopic(TOPICS.agents, str, serdes.agentEvents),
    team_events: driver.createInputTopic(TOPICS.teams, str, serdes.teamEvents),
    task_events: driver.createInputTopic(TOPICS.tasks, str, serdes.taskEvents),
  }
  const rawTeams = driver.createInputTopic(TOPICS.teams, str, Serdes.Buffer())
  const late = driver.createInputTopic(TOPICS.late, Serdes.Buffer(), Serdes.Buffer())
  const dlq = driver.createInputTopic(TOPICS.dlq, Serdes.Buffer(), Serdes.Buffer())
  const dlqOut = driver.createOutputTopic(TOPICS.dlq, Serdes.Buffer(), Serdes.Buffer())
  const lateTimes: number[] = []
  // What the runtime does with the late records and dead letters: write them to its topics.
  const forwardBadRecords = () => {
    for (const letter of driver.readLateRecords()) {
      lateTimes.push(letter.late.streamTime)
      const message = lateRecordMessage(TOPICS.late, letter)
      late.pipeInput(
        message.key ?? null,
        message.value ?? null,
        Number(message.timestamp ?? 0),
        headersOf(message.headers),
      )
    }
    for (const dead of dlqOut.readRecordsToList())
      dlq.pipeInput(dead.key, dead.value, dead.timestamp, dead.headers)
  }
  let g = 0
  records.forEach((r, i) => {
    ;(
      inputs[r.family as keyof typeof inputs] as { pipeInput(k: string, v: unknown, t: number): void }
    ).pipeInput(r.key, r.event, r.timestamp)
    forwardBadRecords()
    while (g < garbage.length && garbage[g]?.after === i) {
      const bad = garbage[g++] as (typeof garbage)[number]
      rawTeams.pipeInput(r.key, bad.bytes, bad.timestamp)
      forwardBadRecords()
    }
  })
  const alerts = readAlerts(driver)
  const arrival = <E>(family: string) =>
    records.filter((r) => r.family === family).map((r) => ({ timestamp: r.timestamp, event: r.event as E }))

  it('formation failure rate: once per window that crosses, with the counts at the crossing', () => {
    const outcomes = distinctEvents<TeamEvent>(records, 'team_events', 'arrival').filter((e) =>
      ['TeamFormed', 'TeamFormationFailed'].includes(
        (Object.keys(e.payload)[0] ?? '').split('.').pop() ?? '',
      ),
    )
    const expected = formationRateReference(outcomes, windows, 0.25, 10)
    expect(expected.alerts.length).toBeGreaterThan(2)
    // Some windows stay under the threshold.
    expect(expected.alerts.length).toBeLessThan(
      new Set(outcomes.map((e) => Math.floor(e.occurred_at / 10_000))).size,
    )
    expect(ofType(alerts, 'FORMATION_FAILURE_RATE')).toEqual(
      ofType(expected.alerts, 'FORMATION_FAILURE_RATE'),
    )
    expect(lateTimes).toEqual(expected.lateAt)
  })

  it('task not started: each pending task once, at the first check past its limit', () => {
    const expected = taskNotStartedReference(arrival<TaskEvent>('task_events'), 1_000, 300)
    expect(expected.length).toBeGreaterThan(5)
    expect(ofType(alerts, 'TASK_NOT_STARTED')).toEqual(ofType(expected, 'TASK_NOT_STARTED'))
  })

  it('agent busy too long: each busy period once, at the first check past the bound', () => {
    const expected = agentBusyReference(arrival<AgentEvent>('agent_events'), 2_000, 300)
    expect(expected.length).toBeGreaterThan(5)
    expect(ofType(alerts, 'AGENT_BUSY_TOO_LONG')).toEqual(ofType(expected, 'AGENT_BUSY_TOO_LONG'))
  })

  it('late records per minute, by the stream time they were found late at', () => {
    const expected = badEventRateReference(lateTimes, 'late', TOPICS.late, 10_000, 6)
    expect(expected.length).toBeGreaterThan(0)
    expect(ofType(alerts, 'LATE_EVENT_RATE')).toEqual(ofType(expected, 'LATE_EVENT_RATE'))
  })

  it('dead letters per minute, by the undecodable records’ timestamps', () => {
    const expected = badEventRateReference(
      garbage.map((b) => b.timestamp),
      'dead-letter',
      TOPICS.dlq,
      10_000,
      12,
    )
    expect(expected.length).toBeGreaterThan(1)
    // The first half's rate stays under the threshold.
    expect(expected.length).toBeLessThan(new Set(garbage.map((b) => Math.floor(b.timestamp / 10_000))).size)
    expect(ofType(alerts, 'DEAD_LETTER_RATE')).toEqual(ofType(expected, 'DEAD_LETTER_RATE'))
  })
})

// Hand-built streams (JSON events): each rule's edges.
const NS = 'agent_party.events.'
let ids = 0
const eventId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`
const team = (at: number, outcome: 'TeamFormed' | 'TeamFormationFailed'): TeamEvent =>
  ({
    event_id: eventId(),
    occurred_at: at,
    team_id: `team-${ids}`,
    payload: {
      [`${NS}${outcome}`]:
        outcome === 'TeamFormed'
          ? { task_id: 't', members: [], formation_score: 0.9, inference_time_ms: 5 }
          : { task_id: 't', reason: 'no idle agent' },
    },
  }) as TeamEvent
const task = (id: string, at: number, name: string, payload: object = {}): TaskEvent =>
  ({ event_id: eventId(), occurred_at: at, task_id: id, payload: { [`${NS}${name}`]: payload } }) as TaskEvent
const assigned = (id: string, at: number, teamId = 'team-1') =>
  task(id, at, 'TaskAssigned', { team_id: teamId, agent_ids: ['a'] })
const agent = (id: string, at: number, status: string): AgentEvent =>
  ({
    event_id: eventId(),
    occurred_at: at,
    agent_id: id,
    payload:
      status === 'TERMINATED'
        ? { [`${NS}AgentTerminated`]: { reason: 'retired' } }
        : { [`${NS}AgentStatusChanged`]: { previous_status: 'IDLE', status } },
  }) as AgentEvent

function driverOf(
  build: (builder: StreamsBuilder) => KStream<string, Alert> | KStream<string, Alert>[],
  options: ConstructorParameters<typeof TopologyTestDriver>[1] = {},
): TopologyTestDriver {
  const builder = new StreamsBuilder()
  const streams = build(builder)
  for (const s of Array.isArray(streams) ? streams : [streams])
    s.to(TOPICS.alerts, { keySerde: str, valueSerde: json })
  return new TopologyTestDriver(builder.build(), options)
}

describe('formation failure rate alert', () => {
  const windows = TimeWindows.ofSizeWithNoGrace(60_000)
  const build =
    (w = windows) =>
    (builder: StreamsBuilder) =>
      formationFailureRateAlerts(
        builder.stream<string, TeamEvent>(TOPICS.teams, { keySerde: str, valueSerde: Serdes.Json() }),
        w,
        { maxFormationFailureRate: 0.2, minFormations: 10 },
      )
  const pipe = (driver: TopologyTestDriver, events: TeamEvent[]) => {
    const input = driver.createInputTopic(TOPICS.teams, str, Serdes.Json<TeamEvent>())
    for (const e of events) input.pipeInput(e.team_id, e, e.occurred_at)
  }
  const formed = (at: number, n: number) => Array.from({ length: n }, (_, i) => team(at + i, 'TeamFormed'))
  const failed = (at: number, n: number) =>
    Array.from({ length: n }, (_, i) => team(at + i, 'TeamFormationFailed'))

  it('waits for the minimum number of formations: 1 failure of 1 does not page', () => {
    const driver = driverOf(build())
    pipe(driver, [...failed(0, 9)])
    expect(readAlerts(driver)).toEqual([])
    pipe(driver, formed(100, 1))
    const [alert, ...rest] = readAlerts(driver)
    expect(rest).toEqual([])
    expect(alert).toMatchObject({
      alert_id: 'FORMATION_FAILURE_RATE/team_formation_failure_rate/0',
      observed: 0.9,
      threshold: 0.2,
      window_start: 0,
      window_end: 60_000,
      event_time: 100,
      details: { formed: '1', failed: '9', min_formations: '10' },
    })
  })

  it('fires above the threshold, not at it, and once per window however the rate moves', () => {
    const driver = driverOf(build())
    pipe(driver, [...formed(0, 8), ...failed(10, 2)])
    expect(readAlerts(driver)).toEqual([]) // 2 of 10 = 0.2: not above
    pipe(driver, failed(20, 1)) // 3 of 11
    expect(readAlerts(driver).map((a) => a.observed)).toEqual([3 / 11])
    pipe(driver, [...failed(30, 5), ...formed(40, 40), ...failed(50, 20)]) // above, under, above again
    expect(readAlerts(driver)).toEqual([])
    pipe(driver, [...formed(60_000, 5), ...failed(60_010, 5)]) // the next window
    expect(readAlerts(driver).map((a) => a.alert_id)).toEqual([
      'FORMATION_FAILURE_RATE/team_formation_failure_rate/60000',
    ])
  })

  it('fires once even when the crossing update and later ones are committed together', () => {
    const driver = driverOf(build(), { autoCommit: false })
    pipe(driver, [...failed(0, 12), ...formed(100, 3)])
    driver.commit()
    expect(readAlerts(driver).map((a) => a.details)).toEqual([
      { formed: '0', failed: '10', min_formations: '10' },
    ])
  })

  it('alerts per hopping window', () => {
    const driver = driverOf(build(TimeWindows.ofSizeWithNoGrace(60_000).advanceBy(30_000)))
    pipe(driver, [...formed(31_000, 5), ...failed(32_000, 5)])
    expect(
      readAlerts(driver)
        .map((a) => [a.window_start, a.window_end])
        .sort((a, b) => (a[0] as number) - (b[0] as number)),
    ).toEqual([
      [0, 60_000],
      [30_000, 90_000],
    ])
  })
})

describe('task not started alert', () => {
  const options = { taskStartTimeoutMs: 5_000, checkIntervalMs: 1_000 }
  const build = (builder: StreamsBuilder) =>
    taskNotStartedAlerts(
      builder,
      taskEntities(
        builder.stream<string, TaskEvent>(TOPICS.tasks, { keySerde: str, valueSerde: Serdes.Json() }),
        {
          key: str,
          snapshot: Serdes.Json(),
        },
      ).snapshots,
      options,
    )
  const pipe = (driver: TopologyTestDriver, events: TaskEvent[]) => {
    const input = driver.createInputTopic(TOPICS.tasks, str, Serdes.Json<TaskEvent>())
    for (const e of events) input.pipeInput(e.task_id, e, e.occurred_at)
  }
  // Another task's events move stream time.
  const tick = (at: number) =>
    task('clock', at, 'TaskCreated', { priority: 'LOW', required_capabilities: [], token_budget: 1 })

  it('fires at the first check at least the limit after the assignment, once per assignment', () => {
    const driver = driverOf(build)
    pipe(driver, [assigned('t1', 1_000), tick(5_999)])
    expect(readAlerts(driver)).toEqual([])
    pipe(driver, [tick(6_000)])
    expect(readAlerts(driver)).toEqual([
      {
        alert_id: 'TASK_NOT_STARTED/t1/1000',
        type: 'TASK_NOT_STARTED',
        severity: 'WARNING',
        subject_type: 'TASK',
        subject: 't1',
        observed: 5_000,
        threshold: 5_000,
        window_start: null,
        window_end: null,
        event_time: 6_000,
        details: { assigned_at: '1000', team_id: 'team-1' },
      },
    ])
    // Not again for the same assignment; a reassignment is a new cause, with its own id.
    pipe(driver, [tick(12_000)])
    expect(readAlerts(driver)).toEqual([])
    pipe(driver, [assigned('t1', 7_000, 'team-2'), tick(20_000)])
    expect(readAlerts(driver).map((a) => [a.alert_id, a.details.team_id])).toEqual([
      ['TASK_NOT_STARTED/t1/7000', 'team-2'],
    ])
  })

  it('does not fire for a task started or ended in time, even when the start arrives first', () => {
    const driver = driverOf(build)
    pipe(driver, [
      task('t2', 1_500, 'TaskStarted', { team_id: 'team-1' }),
      assigned('t2', 1_000),
      assigned('t3', 1_000),
      task('t3', 2_000, 'TaskCancelled', { reason: 'withdrawn' }),
      tick(30_000),
    ])
    expect(readAlerts(driver)).toEqual([])
    expect([...driver.getKeyValueStore<string, unknown>('alert-pending-tasks').all()]).toEqual([])
  })

  it('counts from the last assignment', () => {
    const driver = driverOf(build)
    pipe(driver, [assigned('t4', 1_000), assigned('t4', 4_000, 'team-2'), tick(8_999)])
    expect(readAlerts(driver)).toEqual([])
    pipe(driver, [tick(9_000)])
    expect(readAlerts(driver).map((a) => [a.alert_id, a.details.team_id])).toEqual([
      ['TASK_NOT_STARTED/t4/4000', 'team-2'],
    ])
  })

  it('keeps its pending tasks across a restart, from the changelog', () => {
    const first = driverOf(build)
    pipe(first, [assigned('t5', 1_000), assigned('t6', 1_000), tick(6_000), assigned('t7', 6_500)])
    expect(
      readAlerts(first)
        .map((a) => a.subject)
        .sort(),
    ).toEqual(['t5', 't6'])
    const changelog = 'test-app-alert-pending-tasks-changelog'
    const records = first.createOutputTopic(changelog, Serdes.Buffer(), Serdes.Buffer()).readRecordsToList()
    const second = driverOf(build, {
      changelogs: { [changelog]: records.map((r) => ({ key: r.key, value: r.value })) },
    })
    pipe(second, [tick(6_600), tick(20_000)])
    expect(readAlerts(second).map((a) => a.alert_id)).toEqual(['TASK_NOT_STARTED/t7/6500'])
  })
})

describe('agent busy too long alert', () => {
  const options = { agentMaxBusyMs: 10_000, checkIntervalMs: 1_000 }
  const build = (builder: StreamsBuilder) =>
    agentBusyAlerts(
      builder,
      builder.stream<string, AgentEvent>(TOPICS.agents, { keySerde: str, valueSerde: Serdes.Json() }),
      options,
    )
  const pipe = (driver: TopologyTestDriver, events: AgentEvent[]) => {
    const input = driver.createInputTopic(TOPICS.agents, str, Serdes.Json<AgentEvent>())
    for (const e of events) input.pipeInput(e.agent_id, e, e.occurred_at)
  }
  const tick = (at: number) => agent('clock', at, 'IDLE')

  it('fires once per busy period, from its start, BUSY after BUSY continuing it', () => {
    const driver = driverOf(build)
    pipe(driver, [agent('a1', 0, 'BUSY'), agent('a1', 5_000, 'BUSY'), tick(9_999)])
    expect(readAlerts(driver)).toEqual([])
    pipe(driver, [tick(10_000), tick(30_000)])
    expect(readAlerts(driver).map((a) => [a.alert_id, a.observed, a.event_time])).toEqual([
      ['AGENT_BUSY_TOO_LONG/a1/0', 10_000, 10_000],
    ])
    pipe(driver, [agent('a1', 31_000, 'IDLE'), agent('a1', 32_000, 'BUSY'), tick(42_500)])
    expect(readAlerts(driver).map((a) => [a.alert_id, a.details.busy_since])).toEqual([
      ['AGENT_BUSY_TOO_LONG/a1/32000', '32000'],
    ])
  })

  it('ignores a status change older than the last applied, and ends for good at termination', () => {
    const driver = driverOf(build)
    pipe(driver, [
      agent('a2', 2_000, 'IDLE'),
      agent('a2', 1_000, 'BUSY'), // older than the IDLE: does not open a period
      agent('a3', 1_000, 'BUSY'),
      agent('a3', 2_000, 'TERMINATED'),
      agent('a3', 3_000, 'BUSY'), // after termination
      agent('a4', 1_000, 'BUSY'),
      agent('a4', 3_000, 'IDLE'),
      tick(60_000),
    ])
    expect(readAlerts(driver)).toEqual([])
  })
})

describe('late record and dead-letter rate alerts', () => {
  const build = (builder: StreamsBuilder) => {
    const { late, deadLetter } = badEventRateAlerts(
      builder,
      { late: TOPICS.late, deadLetter: TOPICS.dlq },
      { maxLatePerMinute: 2, maxDeadLettersPerMinute: 2, badEventWindowMs: 60_000 },
    )
    return [late, deadLetter]
  }
  const header = (name: string, value: string | number): Headers =>
    new Map([[name, Buffer.from(String(value))]])

  it('reads the runtime’s own header names', () => {
    expect(BAD_EVENT_HEADERS.lateStreamTime).toBe(LATE_RECORD_HEADERS.streamTime)
    expect(BAD_EVENT_HEADERS.deadLetterFailedAt).toBe(DEAD_LETTER_HEADERS.failedAt)
  })

  it('counts late records by the stream time they were found late at, once per window above the rate', () => {
    const driver = driverOf(build)
    const late = driver.createInputTopic(TOPICS.late, Serdes.Buffer(), Serdes.Buffer())
    // Their own timestamps are old; the header says when they went bad. Undecodable bytes are fine.
    for (const at of [1_000, 2_000, 3_000, 4_000])
      late.pipeInput(Buffer.from([0xff]), Buffer.from([0xfe]), 5, header(LATE_RECORD_HEADERS.streamTime, at))
    const alerts = readAlerts(driver)
    expect(alerts.map((a) => [a.alert_id, a.observed, a.event_time, a.details.count])).toEqual([
      [`LATE_EVENT_RATE/${TOPICS.late}/0`, 3, 3_000, '3'],
    ])
  })

  it('leaves out windows older than the one before the newest, and reads times without headers', () => {
    const driver = driverOf(build)
    const dlq = driver.createInputTopic(TOPICS.dlq, Serdes.Buffer(), Serdes.Buffer())
    const pipe = (at: number, headers?: Headers) => dlq.pipeInput(null, null, at, headers)
    pipe(1_000)
    pipe(125_000) // newest window 120000: window 0 is gone
    for (const at of [2_000, 3_000, 4_000]) pipe(at)
    pipe(61_000)
    pipe(62_000)
    expect(readAlerts(driver)).toEqual([])
    // An invalid timestamp: the failure time header instead.
    pipe(-1, header(DEAD_LETTER_HEADERS.failedAt, new Date(63_000).toISOString()))
    expect(readAlerts(driver).map((a) => [a.alert_id, a.event_time])).toEqual([
      [`DEAD_LETTER_RATE/${TOPICS.dlq}/60000`, 63_000],
    ])
    expect(driver.readDeadLetters()).toEqual([])
  })
})

describe('alert settings', () => {
  it('default to the operations guide’s values', () => {
    expect(resolveAlertsOptions()).toEqual({
      maxFormationFailureRate: 0.2,
      minFormations: 10,
      taskStartTimeoutMs: 300_000,
      agentMaxBusyMs: 1_800_000,
      checkIntervalMs: 10_000,
      maxLatePerMinute: 100,
      maxDeadLettersPerMinute: 100,
      badEventWindowMs: 60_000,
    })
  })

  it.each([
    ['maxFormationFailureRate', 1],
    ['maxFormationFailureRate', -0.1],
    ['minFormations', 0],
    ['minFormations', 2.5],
    ['taskStartTimeoutMs', 0],
    ['agentMaxBusyMs', Number.NaN],
    ['checkIntervalMs', 1.5],
    ['maxLatePerMinute', 0],
    ['maxDeadLettersPerMinute', Number.POSITIVE_INFINITY],
    ['badEventWindowMs', -60_000],
  ])('reject %s = %s, naming the setting', (setting, value) => {
    const wrong = { [setting]: value } as AlertsOptions
    expect(() => resolveAlertsOptions(wrong)).toThrow(ProcessorConfigError)
    expect(() => resolveAlertsOptions(wrong)).toThrow(`alerts.${setting}`)
    // Before anything is added to the topology.
    expect(() => alertsTopology(TimeWindows.ofSizeWithNoGrace(60_000), wrong)).toThrow(`alerts.${setting}`)
  })
})
