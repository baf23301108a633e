// The Redis read model's key names, in one place: the sink writes them and the read model
// (read-model.ts) reads them. Every key starts with the deployment's prefix (default `ap:`), so tests
// and several deployments share one Redis without colliding; two prefixes must never be prefixes of
// each other (a reset deletes everything under its prefix). The layout is the table in README.md.
import { OUTPUTS, type OutputName } from '../../processors/outputs.js'

export const DEFAULT_PREFIX = 'ap:'

/** An output's stable id in keys: its default topic without `agent_party.` (`tokens_by_agent_1h`). */
export function outputId(name: OutputName): string {
  return OUTPUTS[name].topic.replace(/^agent_party\./, '')
}

/** Window identity in keys: the start for time windows, `<start>-<end>` for session windows. */
export function windowId(start: number, end: number, session: boolean): string {
  return session ? `${start}-${end}` : String(start)
}

export class RedisKeys {
  constructor(readonly prefix: string = DEFAULT_PREFIX) {}

  offset(sink: string, topic: string, partition: number): string {
    return `${this.prefix}sink-offset:${sink}:${topic}:${partition}`
  }
  /** Pattern of every key under the prefix. */
  all(): string {
    return `${globEscape(this.prefix)}*`
  }
  agent(id: string): string {
    return `${this.prefix}agent:${id}`
  }
  agentsAll(): string {
    return `${this.prefix}agents:all`
  }
  agentsByStatus(status: string): string {
    return `${this.prefix}agents:status:${status}`
  }
  agentsByCapability(capability: string): string {
    return `${this.prefix}agents:capability:${capability}`
  }
  agentsByCategory(category: string): string {
    return `${this.prefix}agents:category:${category}`
  }
  agentsByTemplate(template: string): string {
    return `${this.prefix}agents:template:${template}`
  }

  team(id: string): string {
    return `${this.prefix}team:${id}`
  }
  teamMembers(id: string): string {
    return `${this.prefix}team:${id}:members`
  }
  teamsAll(): string {
    return `${this.prefix}teams:all`
  }
  teamsByStatus(status: string): string {
    return `${this.prefix}teams:status:${status}`
  }

  task(id: string): string {
    return `${this.prefix}task:${id}`
  }
  tasksAll(): string {
    return `${this.prefix}tasks:all`
  }
  tasksByStatus(status: string): string {
    return `${this.prefix}tasks:status:${status}`
  }
  tasksByTeam(team: string): string {
    return `${this.prefix}tasks:team:${team}`
  }

  capacity(capability: string): string {
    return `${this.prefix}capacity:${capability}`
  }
  idleCapacity(): string {
    return `${this.prefix}capacity:idle`
  }

  /** One window's value: a hash of the output's fields. */
  window(output: OutputName, group: string, window: string): string {
    return `${this.prefix}m:${outputId(output)}:${group}:${window}`
  }
  /** The windows of one (output, group): a ZSET of window ids scored by window start. */
  windows(output: OutputName, group: string): string {
    return `${this.prefix}mi:${outputId(output)}:${group}`
  }
  /** The groups of one output that have windows: a ZSET of group keys scored by their latest window start. */
  groups(output: OutputName): string {
    return `${this.prefix}mg:${outputId(output)}`
  }
  /** Token leaderboard of one window: a ZSET of agent ids scored by tokens (from tokens_by_agent*). */
  leaderboard(output: OutputName, windowStart: number): string {
    return `${this.prefix}lb:${outputId(output)}:${windowStart}`
  }

  alert(id: string): string {
    return `${this.prefix}alert:${id}`
  }
  /** Alert key prefix (the script deletes the hashes of alerts trimmed from the recent list). */
  alertPrefix(): string {
    return `${this.prefix}alert:`
  }
  alerts(): string {
    return `${this.prefix}alerts`
  }
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
