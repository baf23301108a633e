// The operations guide's API latency histogram: `http_request_duration_seconds` with the route
// pattern as `endpoint` (never the raw URL), the method and the status code. Its buckets cover the
// guide's HighApiLatency alert (p95 above 1 s).
import { Histogram, type Registry } from 'prom-client'

export interface HttpMetrics {
  observe(method: string, endpoint: string, status: number, seconds: number): void
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  const name = 'http_request_duration_seconds'
  const histogram =
    (registry.getSingleMetric(name) as Histogram<'method' | 'endpoint' | 'status'> | undefined) ??
    new Histogram({
      name,
      help: 'API request duration by route pattern (endpoint), method and status code',
      labelNames: ['method', 'endpoint', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    })
  return {
    observe(method, endpoint, status, seconds) {
      histogram.observe({ method, endpoint, status: String(status) }, seconds)
    },
  }
}
