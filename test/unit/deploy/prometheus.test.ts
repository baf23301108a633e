// The Prometheus files (deploy/prometheus) checked by Prometheus' own tool: the configuration and
// the rules parse (`promtool check config|rules`), the rules' unit tests pass on synthetic series
// (`promtool test rules`), and those tests really pin each rule's `for:` (a copy of the rules with one
// `for:` a minute shorter fails them). Every metric and label a rule names is one the processes
// export; every scrape job finds the pods through a headless Service of deploy/k8s.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { find, loadManifests } from '../../support/deploy-k8s.js'
import { exportedSeries, queryProblems } from '../../support/deploy-metrics.js'
import { durationMs, formatDuration, promtool } from '../../support/deploy-promtool.js'

const DIR = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url))
const RULES_FILE = 'rules/agent-party.yml'

interface Rule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[]
}
interface RuleTest {
  eval_time: string
  alertname: string
  exp_alerts: unknown[]
}
interface TestFile {
  rule_files: string[]
  tests: { alert_rule_test?: RuleTest[] }[]
}

const ruleFile = parse(readFileSync(join(DIR, RULES_FILE), 'utf8')) as RuleFile
const rules = ruleFile.groups.flatMap((g) => g.rules)
const testFiles = readdirSync(join(DIR, 'tests')).filter((f) => f.endsWith('.yml'))
const ruleTests = testFiles.flatMap((f) =>
  (parse(readFileSync(join(DIR, 'tests', f), 'utf8')) as TestFile).tests.flatMap(
    (t) => t.alert_rule_test ?? [],
  ),
)

describe('deploy/prometheus', () => {
  it('has a configuration promtool accepts, with its rule files', () => {
    const result = promtool(['check', 'config', 'prometheus.yml'], DIR)
    expect(result.output).toContain('SUCCESS')
    expect(result.status, result.output).toBe(0)
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`)
  })

  it('has rules promtool accepts', () => {
    const result = promtool(['check', 'rules', RULES_FILE], DIR)
    expect(result.status, result.output).toBe(0)
  })

  it("has the operations guide's three alerts and the project's own", () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'HighApiLatency',
        'Neo4jConnectionFailures',
        'KafkaConsumerLag',
        'KafkaConsumerTimeLag',
        'HighProcessingLatency',
        'ProcessorDeadLetters',
        'TransactionsAborted',
        'SinkDeadLetters',
        'SinkRetries',
        'AgentPartyTargetDown',
      ].sort(),
    )
  })

  it('gives every alert a severity, a summary, a description, a runbook and a `for:`', () => {
    for (const rule of rules) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity)
      expect(rule.annotations?.summary, rule.alert).toBeTruthy()
      expect(rule.annotations?.description, rule.alert).toBeTruthy()
      expect(rule.annotations?.runbook_url, rule.alert).toMatch(/^deploy\/runbooks\/[a-z0-9-]+\.md$/)
      expect(durationMs(rule.for ?? '0s'), rule.alert).toBeGreaterThan(0)
    }
  })

  describe('rules name only what the processes export', () => {
    let exported: Map<string, readonly string[]>
    beforeAll(async () => {
      exported = await exportedSeries()
    })

    it.each(rules.map((r) => [r.alert, r.expr]))('%s', (_alert, expr) => {
      expect(queryProblems(expr, exported)).toEqual([])
    })

    it('and the check catches a metric or a label that does not exist', () => {
      expect(queryProblems('rate(agent_party_streams_dead_letter_total[5m]) > 0', exported)).toEqual([
        'agent_party_streams_dead_letter_total is not exported by the project',
      ])
      expect(queryProblems('sum by (group) (kafka_consumergroup_lag{group="x"}) > 0', exported)).toEqual([
        'kafka_consumergroup_lag has no label group',
        'no metric of the query has the label group it groups by',
      ])
    })
  })

  describe('rule unit tests (promtool test rules)', () => {
    it('pass', () => {
      expect(testFiles.length).toBeGreaterThan(0)
      const result = promtool(['test', 'rules', ...testFiles.map((f) => `tests/${f}`)], DIR)
      expect(result.status, result.output).toBe(0)
    })

    it('test every alert before and after its `for:`, and on series that must not fire', () => {
      for (const rule of rules) {
        const cases = ruleTests.filter((t) => t.alertname === rule.alert)
        const firing = cases.filter((t) => t.exp_alerts.length > 0).map((t) => durationMs(t.eval_time))
        const silent = cases.filter((t) => t.exp_alerts.length === 0).map((t) => durationMs(t.eval_time))
        expect(firing.length, `${rule.alert} never expected to fire`).toBeGreaterThan(0)
        expect(Math.min(...firing), rule.alert).toBeGreaterThanOrEqual(durationMs(rule.for ?? '0s'))
        expect(
          silent.some((t) => t < Math.min(...firing)),
          `${rule.alert}: no check before it fires`,
        ).toBe(true)
      }
    })

    it.each(rules.map((r) => [r.alert]))('fail when the `for:` of %s is one evaluation shorter', (alert) => {
      const dir = mkdtempSync(join(tmpdir(), 'promtool-for-'))
      mkdirSync(join(dir, 'rules'))
      mkdirSync(join(dir, 'tests'))
      const mutated = structuredClone(ruleFile)
      for (const rule of mutated.groups.flatMap((g) => g.rules))
        if (rule.alert === alert) rule.for = formatDuration(durationMs(rule.for ?? '0s') - 60_000)
      writeFileSync(join(dir, RULES_FILE), stringify(mutated))
      for (const f of testFiles) writeFileSync(join(dir, 'tests', f), readFileSync(join(DIR, 'tests', f)))
      const result = promtool(['test', 'rules', ...testFiles.map((f) => `tests/${f}`)], dir)
      expect(result.status).not.toBe(0)
      expect(result.output).toContain(`alertname: ${alert}`)
    })
  })

  it('scrapes each role through a headless Service of deploy/k8s that lists every pod, on its port', () => {
    const config = parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[]
    }
    const docs = loadManifests()
    const jobs = Object.fromEntries(config.scrape_configs.map((c) => [c.job_name, c]))
    expect(Object.keys(jobs).sort()).toEqual([
      'agent-party-api',
      'agent-party-processor',
      'agent-party-sinks',
    ])
    for (const [job, scrape] of Object.entries(jobs)) {
      const [sd] = scrape.dns_sd_configs
      const [service, namespace] = (sd?.names[0] ?? '').split('.')
      const svc = find(docs, 'Service', service as string)
      expect(svc.metadata.namespace).toBe(namespace)
      expect(svc.spec.clusterIP).toBe('None')
      expect(svc.spec.publishNotReadyAddresses).toBe(true)
      // the pods it selects are the job's workload, and serve on the scraped port
      const workload = docs.find(
        (d) => (d.doc.kind === 'Deployment' || d.doc.kind === 'StatefulSet') && d.doc.metadata.name === job,
      )?.doc
      expect(workload, job).toBeDefined()
      const labels = workload?.spec.template.metadata.labels
      for (const [k, v] of Object.entries(svc.spec.selector as object)) expect(labels[k]).toBe(v)
      const ports = workload?.spec.template.spec.containers[0].ports.map(
        (p: { containerPort: number }) => p.containerPort,
      )
      expect(ports).toContain(sd?.port)
    }
  })
})
