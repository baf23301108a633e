// Alert: an agent BUSY for longer than a bound. Read from the agent events (keyed by agent id, after
// duplicates are dropped): each agent's last status change is kept in a store keyed by agent id (logged),
// with when its current status began. A status change older (occurred_at) than the last one applied is
// ignored, so an out-of-order BUSY cannot reopen a busy period a later IDLE closed; BUSY after BUSY
// continues the period; AgentTerminated ends it for good (as in the agent table, a terminated agent
// stays terminated). A stream-time punctuator alerts once per busy period, when the period is at least
// the bound old in the task's stream time. Busy, un-alerted agents are indexed in memory (rebuilt from
// the store at start) so a punctuation looks only at them.
import type { AgentEvent, AgentStatusChanged } from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import {
  type KeyValueStore,
  type KStream,
  type Processor,
  type ProcessorContext,
  Serdes,
  Stores,
  StreamRecord,
  type StreamsBuilder,
} from '../../topology/index.js'
import { type Alert, type AlertsOptions, alertId, resolveAlertsOptions, SEVERITY } from './alert.js'

export interface AgentStatusEntry {
  /** IDLE, BUSY, OFFLINE, UNKNOWN or TERMINATED. */
  status: string
  /** occurred_at of the change that began the current status (for BUSY: the busy period's start). */
  since: number
  /** occurred_at of the last change applied. */
  last_at: number
  /** Whether the current busy period has alerted. */
  alerted: boolean
}

export const AGENT_STATUS_STORE = 'alert-agent-status'

class AgentBusyProcessor implements Processor<string, AgentEvent, string, Alert> {
  #context!: ProcessorContext<string, Alert>
  #status!: KeyValueStore<string, AgentStatusEntry>
  /** Busy, un-alerted agents -> busy since. */
  readonly #due = new Map<string, number>()

  constructor(
    private readonly maxBusyMs: number,
    private readonly intervalMs: number,
  ) {}

  init(context: ProcessorContext<string, Alert>): void {
    this.#context = context
    this.#status = context.getStateStore<KeyValueStore<string, AgentStatusEntry>>(AGENT_STATUS_STORE)
    for (const [id, entry] of this.#status.all()) {
      if (entry.status === 'BUSY' && !entry.alerted) this.#due.set(id, entry.since)
    }
    context.schedule(this.intervalMs, 'stream-time', (now) => this.#check(now))
  }

  process(record: StreamRecord<string, AgentEvent>): void {
    const event = record.value
    if (event === null || event === undefined) return
    const name = payloadName(event.payload)
    if (name !== 'AgentStatusChanged' && name !== 'AgentTerminated') return
    const id = record.key
    const at = event.occurred_at
    const last = this.#status.get(id)
    if (last?.status === 'TERMINATED') return
    if (name === 'AgentTerminated') {
      this.#status.put(id, { status: 'TERMINATED', since: at, last_at: at, alerted: false })
      this.#due.delete(id)
      return
    }
    if (last !== undefined && at < last.last_at) return
    const status = payloadOf<AgentStatusChanged>(event.payload).status
    if (status === 'BUSY' && last?.status === 'BUSY') {
      this.#status.put(id, { ...last, last_at: at })
      return
    }
    this.#status.put(id, { status, since: at, last_at: at, alerted: false })
    if (status === 'BUSY') this.#due.set(id, at)
    else this.#due.delete(id)
  }

  #check(now: number): void {
    for (const [id, since] of this.#due) {
      if (since + this.maxBusyMs > now) continue
      this.#status.put(id, { ...(this.#status.get(id) as AgentStatusEntry), alerted: true })
      this.#due.delete(id)
      const busy = now - since
      const alert: Alert = {
        alert_id: alertId('AGENT_BUSY_TOO_LONG', id, since),
        type: 'AGENT_BUSY_TOO_LONG',
        severity: SEVERITY.AGENT_BUSY_TOO_LONG,
        subject_type: 'AGENT',
        subject: id,
        observed: busy,
        threshold: this.maxBusyMs,
        window_start: null,
        window_end: null,
        event_time: now,
        message: `agent ${id} BUSY since ${new Date(since).toISOString()}, for ${busy} ms (limit ${this.maxBusyMs} ms)`,
        details: { busy_since: String(since) },
      }
      this.#context.forward(new StreamRecord(id, alert, now))
    }
  }
}

/**
 * Alerts, keyed by alert id, of agents BUSY too long. Adds the store `alert-agent-status` (changelog
 * `<applicationId>-alert-agent-status-changelog`, one small entry per agent with a status change);
 * `agentEvents` is keyed by agent id, not re-keyed.
 */
export function agentBusyAlerts(
  builder: StreamsBuilder,
  agentEvents: KStream<string, AgentEvent>,
  options: Pick<AlertsOptions, 'agentMaxBusyMs' | 'checkIntervalMs'> = {},
): KStream<string, Alert> {
  const { agentMaxBusyMs: maxBusyMs, checkIntervalMs: intervalMs } = resolveAlertsOptions(options)
  builder.addStateStore(
    Stores.keyValueStoreBuilder(
      AGENT_STATUS_STORE,
      Serdes.String(),
      Serdes.Json<AgentStatusEntry>(),
    ).withCachingEnabled(),
  )
  return agentEvents
    .processValues(
      () => new AgentBusyProcessor(maxBusyMs, intervalMs),
      { name: 'alert-agent-busy' },
      AGENT_STATUS_STORE,
    )
    .selectKey((_id, alert) => alert.alert_id, { name: 'alert-agent-busy-key' })
}
