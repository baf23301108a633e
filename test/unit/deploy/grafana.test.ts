// The Grafana files (deploy/grafana): the dashboard shows the operations guide's key metrics, every
// panel's PromQL is valid (promtool parses it, as a recording rule) and names only metrics and labels
// the processes export, every panel uses the provisioned datasource, and the dashboard provider loads
// the folder the dashboard is in.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { exportedSeries, queryProblems, queryUse } from '../../support/deploy-metrics.js'
import { promtool } from '../../support/deploy-promtool.js'

const DIR = fileURLToPath(new URL('../../../deploy/grafana/', import.meta.url))

interface Target {
  refId: string
  expr: string
  datasource: { type: string; uid: string }
}
interface Panel {
  id: number
  type: string
  title: string
  datasource?: { type: string; uid: string }
  targets?: Target[]
  gridPos: { h: number; w: number; x: number; y: number }
}

const dashboards = readdirSync(join(DIR, 'dashboards')).filter((f) => f.endsWith('.json'))
const dashboard = JSON.parse(readFileSync(join(DIR, 'dashboards', dashboards[0] as string), 'utf8')) as {
  uid: string
  panels: Panel[]
}
const panels = dashboard.panels.filter((p) => p.type !== 'row')
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })))
/** Grafana's interval variables, as Grafana substitutes them before Prometheus sees the query. */
const substituted = (expr: string) =>
  expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s')

describe('deploy/grafana', () => {
  it('has one dashboard, with a stable uid and panels that all query something', () => {
    expect(dashboards).toEqual(['agent-party-streams.json'])
    expect(dashboard.uid).toBe('agent-party-streams')
    expect(panels.length).toBeGreaterThanOrEqual(10)
    for (const panel of panels) expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
    const ids = dashboard.panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("shows the operations guide's key metrics", () => {
    const used = new Set(targets.flatMap((t) => queryUse(t.expr).metrics.map((m) => m.name)))
    for (const metric of [
      'http_request_duration_seconds_bucket', // API p95
      'neo4j_query_duration_seconds_bucket', // Neo4j query time
      'agent_party_processing_latency_seconds',
      'agent_party_inference_time_seconds',
      'agent_party_agent_instantiations_per_minute', // business rates
      'agent_party_team_formation_success_ratio',
      'agent_party_task_completion_ratio',
      'agent_party_token_consumption_per_minute',
      'kafka_consumergroup_lag', // lag
      'kafka_consumergroup_lag_seconds',
      'agent_party_streams_neo4j_pool_connections', // pool utilization
    ])
      expect(used, metric).toContain(metric)
  })

  describe('panel queries name only what the processes export', () => {
    let exported: Map<string, readonly string[]>
    beforeAll(async () => {
      exported = await exportedSeries()
    })
    it.each(targets.map((t) => [`${t.panel} ${t.refId}`, t.expr]))('%s', (_name, expr) => {
      expect(queryProblems(expr, exported)).toEqual([])
    })
  })

  it('has panel queries promtool parses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'grafana-promql-'))
    const file = join(dir, 'panels.yml')
    const rules = targets.map((t, i) => ({ record: `panel:query_${i}`, expr: substituted(t.expr) }))
    writeFileSync(file, stringify({ groups: [{ name: 'panels', rules }] }))
    const result = promtool(['check', 'rules', file])
    expect(result.status, result.output).toBe(0)
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`)
  })

  it('queries the provisioned datasource everywhere', () => {
    const provisioned = parse(readFileSync(join(DIR, 'provisioning/datasources/prometheus.yml'), 'utf8')) as {
      apiVersion: number
      datasources: { uid: string; type: string; url: string }[]
    }
    expect(provisioned.apiVersion).toBe(1)
    const [source] = provisioned.datasources
    expect(source?.type).toBe('prometheus')
    expect(source?.url).toMatch(/^https?:\/\/[^/]+:9090$/)
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: source?.uid })
      for (const target of panel.targets ?? []) expect(target.datasource).toEqual(panel.datasource)
    }
  })

  it('provisions the dashboards from files', () => {
    const provider = parse(readFileSync(join(DIR, 'provisioning/dashboards/agent-party.yml'), 'utf8')) as {
      apiVersion: number
      providers: { type: string; options: { path: string } }[]
    }
    expect(provider.apiVersion).toBe(1)
    expect(provider.providers).toHaveLength(1)
    expect(provider.providers[0]?.type).toBe('file')
    expect(provider.providers[0]?.options.path).toMatch(/^\/var\/lib\/grafana\/dashboards\//)
  })

  it('lays the panels out on the 24-column grid without overlaps', () => {
    const cells = new Set<string>()
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos
      expect(x + w, panel.title).toBeLessThanOrEqual(24)
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${panel.title} overlaps at ${i},${j}`).toBe(false)
          cells.add(`${i},${j}`)
        }
    }
  })
})
