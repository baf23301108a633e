// Small pieces the API's unit and integration tests share: a generated event as a client posts it,
// and the lag exporter's series read back from a registry.
import type { Registry } from 'prom-client'
import { payloadName, payloadOf } from '../../schemas/index.js'

/** A generated envelope as a client posts it: flat, the time as ISO-8601 or epoch ms. */
export function flatBody(event: { payload: object; occurred_at: number }, time: 'iso' | 'ms') {
  const { payload, ...envelope } = event
  return {
    type: payloadName(payload),
    ...envelope,
    occurred_at: time === 'iso' ? new Date(event.occurred_at).toISOString() : event.occurred_at,
    ...(payloadOf(payload) as object),
  }
}

/** Each series of `name` as `group/topic/partition` (or '' without labels) -> value. */
export async function lagSeries(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const out: Record<string, number> = {}
  for (const v of (metric?.values ?? []) as { labels: Record<string, string>; value: number }[]) {
    const l = v.labels
    out[l.consumergroup === undefined ? '' : `${l.consumergroup}/${l.topic}/${l.partition}`] = v.value
  }
  return out
}
