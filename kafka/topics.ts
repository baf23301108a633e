// Idempotent topic provisioning and description through the admin API: create what is missing,
// read back what exists, and report (never silently accept) an existing topic whose partition
// count or configs differ from its definition.
import { type Admin, ConfigResourceTypes } from '@platformatic/kafka'

export interface TopicSpec {
  name: string
  partitions: number
  /** Topic-level configs that must hold, e.g. `{ 'retention.ms': '604800000' }`. */
  configs: Record<string, string>
}

export interface TopicDescription {
  name: string
  partitions: number
  replicationFactor: number
  /** Every config the broker reports for the topic, defaults included. */
  configs: Record<string, string>
}

export interface TopicMismatch {
  topic: string
  setting: string
  expected: string
  actual: string
}

export class TopicMismatchError extends Error {
  readonly code = 'TOPIC_MISMATCH'
  constructor(readonly mismatches: TopicMismatch[]) {
    super(
      `Existing topics differ from their definitions:\n${mismatches
        .map((m) => `  - ${m.topic}: ${m.setting} is ${m.actual}, expected ${m.expected}`)
        .join('\n')}\n` +
        'A partition count cannot be lowered, and raising it moves keys between partitions (keyed state and ' +
        'co-partitioning break): fix the definition or recreate the topic deliberately.',
    )
    this.name = 'TopicMismatchError'
  }
}

export interface EnsureTopicsResult {
  created: string[]
  existing: string[]
}

/**
 * Creates the missing topics and checks the existing ones. Throws TopicMismatchError, after
 * creating what was missing, when any existing topic differs in partitions or in a config of its
 * spec. Safe to run concurrently: a topic created by someone else meanwhile counts as existing.
 */
export async function ensureTopics(
  admin: Admin,
  specs: TopicSpec[],
  replicationFactor: number,
): Promise<EnsureTopicsResult> {
  const present = new Set(await admin.listTopics())
  const created: string[] = []
  // Created by another caller meanwhile (the broker said so): it may not be listed yet.
  const raced: string[] = []
  for (const spec of specs.filter((s) => !present.has(s.name))) {
    try {
      await admin.createTopics({
        topics: [spec.name],
        partitions: spec.partitions,
        replicas: replicationFactor,
        configs: Object.entries(spec.configs).map(([name, value]) => ({ name, value })),
      })
      created.push(spec.name)
    } catch (error) {
      if (hasProtocolError(error, 'TOPIC_ALREADY_EXISTS')) raced.push(spec.name)
      else if (!(await admin.listTopics()).includes(spec.name)) throw error
    }
  }
  await untilListed(admin, [...created, ...raced])
  const existing = specs.map((s) => s.name).filter((n) => !created.includes(n))
  const described = await describeTopics(admin, existing)
  const mismatches = specs.flatMap((spec) => {
    const actual = described.find((d) => d.name === spec.name)
    return actual ? diffTopic(spec, actual) : []
  })
  if (mismatches.length > 0) throw new TopicMismatchError(mismatches)
  return { created, existing }
}

/** True when `error`, or an error it wraps (the client nests them), is the broker's `code` (TOPIC_ALREADY_EXISTS). */
function hasProtocolError(error: unknown, code: string, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false
  const e = error as { apiId?: unknown; errors?: unknown; cause?: unknown }
  if (e.apiId === code) return true
  const nested = Array.isArray(e.errors) ? e.errors : []
  return (
    nested.some((n) => hasProtocolError(n, code, depth + 1)) || hasProtocolError(e.cause, code, depth + 1)
  )
}

/**
 * Waits until every one of `topics` is listed (`listed`: after CreateTopics, which answers before every
 * broker's metadata has them, so that a check that follows at once finds them) or none is (after
 * DeleteTopics). Throws after `timeoutMs`.
 */
export async function untilListed(
  admin: Admin,
  topics: readonly string[],
  { listed = true, timeoutMs = 30_000 }: { readonly listed?: boolean; readonly timeoutMs?: number } = {},
): Promise<void> {
  if (topics.length === 0) return
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const present = new Set(await admin.listTopics())
    const waiting = topics.filter((t) => present.has(t) !== listed)
    if (waiting.length === 0) return
    if (Date.now() > deadline) {
      throw new Error(
        `${listed ? 'created topics not listed' : 'deleted topics still listed'} after ${timeoutMs / 1000} s: ${waiting.join(', ')}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * Deletes `topics` and returns once the broker no longer lists them: the controller answers before the
 * broker's metadata has the deletion, and a caller that looked for a topic in that moment would still
 * find it (a run started right after a reset would take its changelog for present and never create it).
 */
export async function deleteTopicsUntilGone(admin: Admin, topics: readonly string[]): Promise<void> {
  await admin.deleteTopics({ topics: [...topics] })
  await untilListed(admin, topics, { listed: false, timeoutMs: 60_000 })
}

/** Deletes the topic when it exists and creates it empty, with `configs`, once the broker lets it. */
export async function recreateTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  replicas: number,
  configs: Readonly<Record<string, string>> = {},
): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) await deleteTopicsUntilGone(admin, [topic])
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      await admin.createTopics({
        topics: [topic],
        partitions,
        replicas,
        configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
      })
      break
    } catch (error) {
      // The broker may still be removing the deleted topic's log: "topic is marked for deletion".
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
  await untilListed(admin, [topic])
}

export function diffTopic(spec: TopicSpec, actual: TopicDescription): TopicMismatch[] {
  const out: TopicMismatch[] = []
  if (spec.partitions !== actual.partitions) {
    out.push({
      topic: spec.name,
      setting: 'partitions',
      expected: String(spec.partitions),
      actual: String(actual.partitions),
    })
  }
  for (const [setting, expected] of Object.entries(spec.configs)) {
    const value = actual.configs[setting] ?? '(unset)'
    if (value !== expected) out.push({ topic: spec.name, setting, expected, actual: value })
  }
  return out
}

/** Every partition of `topics`, as the broker's metadata has them now (a missing topic has none). */
export async function topicPartitions(
  admin: Admin,
  topics: readonly string[],
): Promise<{ topic: string; partition: number }[]> {
  if (topics.length === 0) return []
  const metadata = await admin.metadata({ topics: [...topics], forceUpdate: true })
  return topics.flatMap((topic) =>
    Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, partition) => ({
      topic,
      partition,
    })),
  )
}

export async function describeTopics(admin: Admin, names: string[]): Promise<TopicDescription[]> {
  if (names.length === 0) return []
  // Copies: the client sorts the topic arrays it is given in place.
  const metadata = await admin.metadata({ topics: [...names], forceUpdate: true })
  const configs = await admin.describeConfigs({
    resources: names.map((resourceName) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName })),
  })
  return names.map((name) => {
    const topic = metadata.topics.get(name)
    if (!topic) throw new Error(`Topic ${name} is missing from the cluster metadata`)
    const described = configs.find((c) => c.resourceName === name)
    return {
      name,
      partitions: topic.partitionsCount,
      replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
      configs: Object.fromEntries(
        (described?.configs ?? []).filter((c) => c.value !== null).map((c) => [c.name, c.value as string]),
      ),
    }
  })
}
