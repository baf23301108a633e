// The four event families of the platform: the default topic of each, the file its schema lives in
// and the envelope field that holds the record key. Topics may be renamed (tests prefix them); the
// family is what ties a topic to its schema.
export const eventFamilies = {
  agent_events: { schemaFile: 'agent-events', keyField: 'agent_id' },
  team_events: { schemaFile: 'team-events', keyField: 'team_id' },
  task_events: { schemaFile: 'task-events', keyField: 'task_id' },
  system_events: { schemaFile: 'system-events', keyField: 'component' },
} as const

export type EventFamily = keyof typeof eventFamilies

export const EVENT_FAMILIES = Object.freeze(Object.keys(eventFamilies) as EventFamily[])

export type KeyField<F extends EventFamily> = (typeof eventFamilies)[F]['keyField']

export function isEventFamily(name: string): name is EventFamily {
  return Object.hasOwn(eventFamilies, name)
}

/** Topic names per family: the defaults, with any given override. */
export function topicNames(
  overrides: Partial<Record<EventFamily, string>> = {},
): Record<EventFamily, string> {
  return {
    agent_events: overrides.agent_events ?? 'agent_events',
    team_events: overrides.team_events ?? 'team_events',
    task_events: overrides.task_events ?? 'task_events',
    system_events: overrides.system_events ?? 'system_events',
  }
}

/** The registry subject of a topic's values under TopicNameStrategy. */
export function valueSubject(topic: string): string {
  return `${topic}-value`
}
