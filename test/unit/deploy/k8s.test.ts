// The Kubernetes manifests (deploy/k8s): every document valid against the Kubernetes schemas
// (kubernetes-models), and held to what a user applying them relies on: the ConfigMap and the Secret
// set every variable config/env.ts knows and nothing else, with values it accepts; probes ask the
// paths each process serves, on the ports the configuration gives it; StatefulSet pods carry their
// name as INSTANCE_ID; HPAs, Services and budgets select what they mean to; containers run commands
// the CLI has, as the image's non-root user.
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApi } from '../../../api/app.js'
import { TokenService } from '../../../api/auth/tokens.js'
import type { ApiServices } from '../../../api/services.js'
import { buildProgram } from '../../../cli/main.js'
import { loadConfig } from '../../../config/config.js'
import { SINK_NAMES, variables } from '../../../config/env.js'
import { ProbeServer } from '../../../config/probe-server.js'
import { loadProcessorConfig } from '../../../processors/config.js'
import { last, parseDockerfile } from '../../support/deploy-dockerfile.js'
import { find, loadManifests, type Manifest, modelClass, podSpecs } from '../../support/deploy-k8s.js'

const docs = loadManifests()
const configMap = find(docs, 'ConfigMap', 'agent-party-config')
const secret = find(docs, 'Secret', 'agent-party-secrets')
const configKeys = Object.keys(configMap.data as object)
const secretKeys = Object.keys(secret.stringData as object)
const known = Object.keys(variables)
const api = find(docs, 'Deployment', 'agent-party-api')
const statefulSets = ['processor', 'sinks'].map((role) => find(docs, 'StatefulSet', `agent-party-${role}`))
// biome-ignore lint/suspicious/noExplicitAny: manifests are YAML read field by field
const containers = (pod: any): any[] => [...(pod.spec.initContainers ?? []), ...pod.spec.containers]
// biome-ignore lint/suspicious/noExplicitAny: idem
const portNumber = (container: any, port: string | number): number =>
  typeof port === 'number'
    ? port
    : container.ports.find((p: { name: string }) => p.name === port)?.containerPort

describe('deploy/k8s', () => {
  it('has only documents valid against the Kubernetes schema of their apiVersion and kind', async () => {
    expect(docs.length).toBeGreaterThan(10)
    for (const { file, doc } of docs) {
      const Model = await modelClass(doc.apiVersion, doc.kind)
      expect(Model, `${file}: no model for ${doc.apiVersion} ${doc.kind}`).toBeDefined()
      expect(
        () => new (Model as NonNullable<typeof Model>)(doc).validate(),
        `${file}: ${doc.kind} ${doc.metadata.name}`,
      ).not.toThrow()
    }
  })

  it('catches an invalid document (the validation is not a no-op)', async () => {
    const Model = await modelClass('apps/v1', 'Deployment')
    const broken = structuredClone(api)
    broken.spec.template.spec.containers[0].ports[0].containerPort = '8000'
    expect(() => new (Model as NonNullable<typeof Model>)(broken).validate()).toThrow(/containerPort/)
  })

  it('puts everything in the agent-party namespace', () => {
    for (const { file, doc } of docs) {
      if (doc.kind === 'Namespace') expect(doc.metadata.name).toBe('agent-party')
      else expect(doc.metadata.namespace, `${file} ${doc.kind}`).toBe('agent-party')
    }
  })

  describe('ConfigMap and Secret', () => {
    it('set only variables config/env.ts knows, each in one place', () => {
      for (const key of [...configKeys, ...secretKeys]) expect(known, key).toContain(key)
      expect(configKeys.filter((k) => secretKeys.includes(k))).toEqual([])
    })

    it('set every variable, but INSTANCE_ID, which each StatefulSet pod takes from its name', () => {
      const missing = known.filter((k) => !configKeys.includes(k) && !secretKeys.includes(k))
      expect(missing).toEqual(['INSTANCE_ID'])
    })

    it('keep every secret variable out of the ConfigMap', () => {
      const secrets = Object.entries(variables)
        .filter(([, spec]) => 'secret' in spec && spec.secret)
        .map(([k]) => k)
      expect(secrets.length).toBeGreaterThan(0)
      for (const key of secrets) expect(secretKeys, key).toContain(key)
    })

    it('give values the configuration accepts', () => {
      for (const [key, value] of Object.entries(configMap.data as Record<string, string>)) {
        expect(typeof value, key).toBe('string')
        const spec = variables[key as keyof typeof variables]
        const parsed = spec.schema.safeParse(value)
        expect(parsed.success, `${key}=${value}: ${parsed.error?.message}`).toBe(true)
      }
    })

    it('ship the Secret as a template with placeholders, outside `kubectl apply -f deploy/k8s/`', () => {
      const { file } = docs.find((d) => d.doc.kind === 'Secret') as { file: string }
      expect(file).toMatch(/^templates\//)
      expect(docs.filter((d) => !d.file.includes('/')).map((d) => d.doc.kind)).not.toContain('Secret')
      for (const [key, value] of Object.entries(secret.stringData as Record<string, string>))
        expect(value, key).toMatch(/<[^>]+>/)
      expect(secret.stringData.NEO4J_URI).toMatch(/^neo4j\+s:\/\/<[^>]+>:\d+$/)
    })
  })

  describe('workloads', () => {
    it('run commands the CLI has', () => {
      const program = buildProgram()
      const resolves = (args: string[]) => {
        let command: Command | undefined = program
        for (const word of args) command = command?.commands.find((c) => c.name() === word)
        return command !== undefined && command.commands.length === 0
      }
      const seen: string[] = []
      for (const { pod } of podSpecs(docs))
        for (const container of containers(pod)) {
          seen.push(container.args.join(' '))
          expect(resolves(container.args), `agent-party ${container.args.join(' ')}`).toBe(true)
        }
      expect(seen.sort()).toEqual(['backup create', 'backup prune', 'run api', 'run processor', 'run sinks'])
    })

    it('take their environment from the ConfigMap and the Secret, as the image user', () => {
      const dockerfile = parseDockerfile(
        readFileSync(new URL('../../../deploy/docker/Dockerfile', import.meta.url), 'utf8'),
      )
      const uid = Number(last(dockerfile.stages.at(-1) as never, 'USER')?.args.split(':')[0])
      for (const { workload, pod } of podSpecs(docs)) {
        expect(pod.spec.securityContext.runAsNonRoot, workload.metadata.name).toBe(true)
        expect(pod.spec.securityContext.runAsUser, workload.metadata.name).toBe(uid)
        for (const container of containers(pod)) {
          expect(container.envFrom).toEqual([
            { configMapRef: { name: configMap.metadata.name } },
            { secretRef: { name: secret.metadata.name } },
          ])
          expect(container.image).toBe(api.spec.template.spec.containers[0].image)
          expect(container.securityContext.readOnlyRootFilesystem).toBe(true)
          expect(container.resources.requests).toBeDefined()
        }
      }
    })

    it('mount a writable /tmp and STATE_DIR, since the root filesystem is read-only', () => {
      for (const { workload, pod } of podSpecs(docs))
        for (const container of containers(pod)) {
          const mounts = container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)
          expect(mounts, workload.metadata.name).toContain('/tmp')
          if (workload.kind === 'StatefulSet') expect(mounts).toContain(configMap.data.STATE_DIR)
        }
    })
  })

  describe('the API Deployment', () => {
    const container = api.spec.template.spec.containers[0]

    it('listens on API_PORT and probes /health (liveness) and /ready (readiness) there', () => {
      expect(api.spec.replicas).toBeGreaterThanOrEqual(2)
      expect(container.livenessProbe.httpGet.path).toBe('/health')
      expect(container.readinessProbe.httpGet.path).toBe('/ready')
      for (const probe of [container.livenessProbe, container.readinessProbe])
        expect(portNumber(container, probe.httpGet.port)).toBe(Number(configMap.data.API_PORT))
    })

    it('is scaled by an autoscaling/v2 HPA on 70% CPU and 80% memory of its requests', () => {
      const hpa = find(docs, 'HorizontalPodAutoscaler', 'agent-party-api')
      expect(hpa.apiVersion).toBe('autoscaling/v2')
      expect(hpa.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'agent-party-api',
      })
      const targets = Object.fromEntries(
        hpa.spec.metrics.map((m: Manifest) => [m.resource.name, m.resource.target]),
      )
      expect(targets).toEqual({
        cpu: { type: 'Utilization', averageUtilization: 70 },
        memory: { type: 'Utilization', averageUtilization: 80 },
      })
      expect(container.resources.requests.cpu).toBeDefined()
      expect(container.resources.requests.memory).toBeDefined()
      expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas)
    })
  })

  describe('the processor and sinks StatefulSets', () => {
    it('set INSTANCE_ID to the pod name', () => {
      for (const set of statefulSets) {
        const env = set.spec.template.spec.containers[0].env
        expect(env).toContainEqual({
          name: 'INSTANCE_ID',
          valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
        })
      }
    })

    it('probe /health and /ready on METRICS_PORT', () => {
      for (const set of statefulSets) {
        const container = set.spec.template.spec.containers[0]
        expect(container.livenessProbe.httpGet.path).toBe('/health')
        expect(container.readinessProbe.httpGet.path).toBe('/ready')
        for (const probe of [container.livenessProbe, container.readinessProbe])
          expect(portNumber(container, probe.httpGet.port)).toBe(Number(configMap.data.METRICS_PORT))
      }
    })

    it('have a headless governing Service', () => {
      for (const set of statefulSets) {
        const service = find(docs, 'Service', set.spec.serviceName)
        expect(service.spec.clusterIP).toBe('None')
      }
    })

    it('scale on kafka_consumergroup_lag of their own consumer groups', () => {
      const groups = {
        'agent-party-processor': [
          loadProcessorConfig(configMap.data.PROCESSOR_CONFIG || undefined).applicationId,
        ],
        'agent-party-sinks': SINK_NAMES.map((s) => `${configMap.data.SINK_GROUP_PREFIX}-${s}`),
      }
      for (const [name, expected] of Object.entries(groups)) {
        const hpa = find(docs, 'HorizontalPodAutoscaler', name)
        expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name })
        const [metric] = hpa.spec.metrics
        expect(metric.type).toBe('External')
        expect(metric.external.metric.name).toBe('kafka_consumergroup_lag')
        const selector = metric.external.metric.selector
        const selected: string[] =
          selector.matchLabels?.consumergroup !== undefined
            ? [selector.matchLabels.consumergroup]
            : selector.matchExpressions.find(
                (e: Manifest) => e.key === 'consumergroup' && e.operator === 'In',
              ).values
        expect(selected.sort()).toEqual([...expected].sort())
        // more replicas than partitions of the 8-partition input topics would stand idle
        expect(hpa.spec.maxReplicas).toBeLessThanOrEqual(8)
      }
    })
  })

  it('has Services, budgets and HPAs that select the pods of their workload', () => {
    const workloads = docs.filter((d) => d.doc.kind === 'Deployment' || d.doc.kind === 'StatefulSet')
    const labelsOf = (name: string) =>
      workloads.find((w) => w.doc.metadata.name === name)?.doc.spec.template.metadata.labels as Record<
        string,
        string
      >
    for (const { doc } of workloads) {
      const labels = labelsOf(doc.metadata.name)
      for (const [k, v] of Object.entries(doc.spec.selector.matchLabels)) expect(labels[k]).toBe(v)
      const service = find(docs, 'Service', doc.metadata.name)
      for (const [k, v] of Object.entries(service.spec.selector as object)) expect(labels[k]).toBe(v)
      const container = doc.spec.template.spec.containers[0]
      for (const port of service.spec.ports) expect(portNumber(container, port.targetPort)).toBeDefined()
      const budget = find(docs, 'PodDisruptionBudget', doc.metadata.name)
      for (const [k, v] of Object.entries(budget.spec.selector.matchLabels)) expect(labels[k]).toBe(v)
      expect(find(docs, 'HorizontalPodAutoscaler', doc.metadata.name).spec.scaleTargetRef.kind).toBe(doc.kind)
    }
  })

  it('backs the graph up every night with `backup create`, then `backup prune`, one run at a time', () => {
    const cron = find(docs, 'CronJob', 'agent-party-graph-backup')
    const pod = cron.spec.jobTemplate.spec.template.spec
    expect(pod.initContainers.map((c: Manifest) => c.args)).toEqual([['backup', 'create']])
    expect(pod.containers.map((c: Manifest) => c.args)).toEqual([['backup', 'prune']])
    expect(cron.spec.concurrencyPolicy).toBe('Forbid')
    expect(cron.spec.schedule.split(' ')).toHaveLength(5)
  })

  describe('probe paths answer in the processes', () => {
    let probe: ProbeServer
    let base: string
    beforeAll(async () => {
      probe = new ProbeServer({ registry: new Registry() })
      base = `http://127.0.0.1:${await probe.start(0, '127.0.0.1')}`
    })
    afterAll(() => probe.close())

    it('processor and sinks (ProbeServer) answer their probes with 200', async () => {
      for (const set of statefulSets) {
        const container = set.spec.template.spec.containers[0]
        for (const probe of [container.livenessProbe, container.readinessProbe])
          expect((await fetch(base + probe.httpGet.path)).status).toBe(200)
      }
    })

    it('the API answers its probes with 200', async () => {
      const config = loadConfig({ API_JWT_SECRET: 'a-secret-of-the-k8s-test-0123456789abcdef' })
      const services = {
        topology: { text: '', mermaid: '' },
        checks: [],
      } as unknown as ApiServices
      const app = await buildApi(services, {
        tokens: await TokenService.create(config.api.jwt),
        rateLimitPerMinute: 0,
        corsOrigins: [],
        logger: false,
        registry: new Registry(),
      })
      try {
        const container = api.spec.template.spec.containers[0]
        for (const probe of [container.livenessProbe, container.readinessProbe])
          expect((await app.inject({ method: 'GET', url: probe.httpGet.path })).statusCode).toBe(200)
        expect((await app.inject({ method: 'GET', url: '/no-such-probe' })).statusCode).toBe(404)
      } finally {
        await app.close()
      }
    })
  })
})
