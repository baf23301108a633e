// The fixed world the simulation draws from: the capabilities of the platform, the agent templates
// (a few, with versions and the models they run on) and the components that report metrics.
import type { Capability, MetricUnit } from '../generated/types.js'

export const CAPABILITIES: readonly Capability[] = [
  { name: 'web-search', category: 'retrieval' },
  { name: 'document-retrieval', category: 'retrieval' },
  { name: 'code-generation', category: 'coding' },
  { name: 'code-review', category: 'coding' },
  { name: 'test-writing', category: 'coding' },
  { name: 'summarization', category: 'language' },
  { name: 'translation', category: 'language' },
  { name: 'planning', category: 'reasoning' },
  { name: 'math', category: 'reasoning' },
  { name: 'sql', category: 'data' },
  { name: 'charting', category: 'data' },
  { name: 'image-captioning', category: 'vision' },
]

export interface AgentTemplate {
  id: string
  version: number
  namePrefix: string
  model: string
  capabilities: readonly string[]
}

export const TEMPLATES: readonly AgentTemplate[] = [
  {
    id: 'researcher',
    version: 3,
    namePrefix: 'researcher',
    model: 'llm-large-2',
    capabilities: ['web-search', 'document-retrieval', 'summarization'],
  },
  {
    id: 'coder',
    version: 7,
    namePrefix: 'coder',
    model: 'llm-code-1',
    capabilities: ['code-generation', 'test-writing', 'sql'],
  },
  {
    id: 'reviewer',
    version: 2,
    namePrefix: 'reviewer',
    model: 'llm-large-2',
    capabilities: ['code-review', 'math'],
  },
  {
    id: 'planner',
    version: 4,
    namePrefix: 'planner',
    model: 'llm-reasoning-1',
    capabilities: ['planning', 'math', 'summarization'],
  },
  {
    id: 'analyst',
    version: 1,
    namePrefix: 'analyst',
    model: 'llm-small-3',
    capabilities: ['sql', 'charting', 'image-captioning', 'translation'],
  },
]

export function capabilityByName(name: string): Capability {
  const found = CAPABILITIES.find((c) => c.name === name)
  if (!found) throw new Error(`unknown capability ${name}`)
  return found
}

export interface MetricSpec {
  name: string
  unit: MetricUnit
}

/** Components and the metrics each samples; the team former also reports each inference. */
export const COMPONENTS: Readonly<Record<string, readonly MetricSpec[]>> = {
  'api-gateway': [
    { name: 'api_latency', unit: 'MILLISECONDS' },
    { name: 'requests', unit: 'COUNT' },
  ],
  'team-former': [{ name: 'gnn_inference_time', unit: 'MILLISECONDS' }],
  'task-runner': [
    { name: 'active_tasks', unit: 'COUNT' },
    { name: 'tokens_per_second', unit: 'TOKENS' },
  ],
  'agent-registry': [{ name: 'live_agents', unit: 'COUNT' }],
  'event-pipeline': [
    { name: 'cpu', unit: 'PERCENT' },
    { name: 'heap_used', unit: 'BYTES' },
  ],
}

export const COMPONENT_NAMES: readonly string[] = Object.keys(COMPONENTS)

export const TASK_ERRORS: readonly string[] = [
  'token budget exceeded',
  'tool call timed out',
  'model refused the request',
  'upstream API returned 503',
]

export const TERMINATION_REASONS: readonly string[] = [
  'scaled down: idle too long',
  'template retired',
  'operator request',
]
