// Public API of the local stack (used by `agent-party stack up|down|status|logs|reset` in cli/):
// five real services, no Docker, all state in one folder.
//
//   service   what                               default port(s)
//   kafka     Apache Kafka 4.4, KRaft single node 9092 (PLAINTEXT), 9094 (SASL_PLAINTEXT: SCRAM-SHA-512
//             and PLAIN), 9093 (controller)
//   neo4j     Neo4j 5.26 Community, Bolt, no auth 7687
//   redis     Redis 7 (Debian redis-server), AOF  6379
//   s3        s3proxy 4.1, filesystem backend     9000
//   registry  Apicurio Registry 3.3 (ccompat v7)  8081, 8091 (Quarkus management)
//   neo4j-restore  (optional) a second Neo4j 5.26,   7688
//                  the restore target of graph backups: started only with STACK_NEO4J_RESTORE=1
//                  (or opts.services naming it); stack.env then has NEO4J_RESTORE_URI
//
// Environment variables:
//   AGENT_PARTY_STACK_DIR            stack folder (default: .stack/ at the repo root)
//   STACK_KAFKA_PORT                 Kafka client port (9092)
//   STACK_KAFKA_CONTROLLER_PORT      KRaft controller port (9093)
//   STACK_KAFKA_SASL_PORT            Kafka SASL_PLAINTEXT port (9094)
//   STACK_NEO4J_BOLT_PORT            Neo4j Bolt port (7687)
//   STACK_REDIS_PORT                 Redis port (6379)
//   STACK_S3_PORT                    s3proxy HTTP port (9000)
//   STACK_REGISTRY_PORT              registry HTTP port (8081)
//   STACK_REGISTRY_MANAGEMENT_PORT   registry management port (8091)
//   STACK_NEO4J_RESTORE              1 or true: `up` also starts neo4j-restore
//   STACK_NEO4J_RESTORE_BOLT_PORT    neo4j-restore Bolt port (7688)
//   REGISTRY_JAVA_HOME               a Java 21+ for the registry (else JAVA_HOME, /usr/lib/jvm/*)
//   JAVA_HOME                        Java 17+ for Kafka, Neo4j, s3proxy (else java on PATH)
//   MAVEN_HOME                       Maven to download jars with (else mvn on PATH)
// Port precedence: opts.ports > STACK_*_PORT > ports of the running stack (<dir>/ports.json) >
// defaults. A running service keeps its port: asking for another one is a PORT_MISMATCH error.

import { mkdirSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { isShellSafe, writeStackEnv } from './env-file.js'
import { StackError } from './errors.js'
import { type StackLayout, stackLayout } from './layout.js'
import { withStackLock } from './lock.js'
import { mergePorts, portsFromEnv, readSavedPorts, writeSavedPorts } from './ports.js'
import { ourLivePid, rssBytes, stopPid, tailFile } from './process.js'
import type { ServiceContext, ServiceDefinition } from './service.js'
import { kafka } from './services/kafka.js'
import { neo4j, neo4jRestore } from './services/neo4j.js'
import { redis } from './services/redis.js'
import { registry } from './services/registry.js'
import { s3 } from './services/s3.js'
import { assertPortsFree, startService, waitReady } from './startup.js'
import {
  OPTIONAL_SERVICE_NAMES,
  SERVICE_NAMES,
  type ServiceName,
  type ServiceStatus,
  type StackEnvironment,
  type StackOptions,
  type StackPorts,
} from './types.js'

export { parseStackEnv, readStackEnv } from './env-file.js'
export { isStackError, StackError, type StackErrorCode } from './errors.js'
export { DEFAULT_PORTS, PORT_ENV_VARS } from './ports.js'
export type { ServiceName, ServiceStatus, StackEnvironment, StackOptions, StackPorts } from './types.js'
export { OPTIONAL_SERVICE_NAMES, SERVICE_NAMES } from './types.js'

const SERVICES: Readonly<Record<ServiceName, ServiceDefinition>> = {
  kafka,
  neo4j,
  redis,
  s3,
  registry,
  'neo4j-restore': neo4jRestore,
}

const ALL_SERVICE_NAMES: readonly ServiceName[] = [...SERVICE_NAMES, ...OPTIONAL_SERVICE_NAMES]

/** STACK_NEO4J_RESTORE: whether `up` starts the optional restore target. */
export function restoreInstanceWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = (env.STACK_NEO4J_RESTORE ?? '').trim().toLowerCase()
  if (raw === '' || raw === '0' || raw === 'false' || raw === 'no') return false
  if (raw === '1' || raw === 'true' || raw === 'yes') return true
  throw new StackError(
    'UNKNOWN_SERVICE',
    `STACK_NEO4J_RESTORE=${env.STACK_NEO4J_RESTORE} is not 1/true or 0/false; set it to 1 to start neo4j-restore.`,
  )
}

/**
 * The services to act on: opts.services, else the default five plus the optional ones in `extra`
 * (for up: those asked for; for status, down, reset: those running).
 */
function selected(opts: StackOptions, extra: readonly ServiceName[] = []): ServiceDefinition[] {
  const names = opts.services ?? [...SERVICE_NAMES, ...extra]
  return [...new Set(names)].map((name) => {
    const svc = SERVICES[name]
    if (!svc) {
      throw new StackError(
        'UNKNOWN_SERVICE',
        `Unknown service "${String(name)}"; use one of ${ALL_SERVICE_NAMES.join(', ')}.`,
      )
    }
    return svc
  })
}

/** The optional services that run now. */
function runningOptional(running: ReadonlyMap<ServiceName, number>): ServiceName[] {
  return OPTIONAL_SERVICE_NAMES.filter((name) => running.has(name))
}

function prepareDirs(layout: StackLayout): void {
  mkdirSync(layout.runDir, { recursive: true })
  mkdirSync(layout.logDir, { recursive: true })
  mkdirSync(layout.libRoot, { recursive: true })
}

async function runningPids(layout: StackLayout): Promise<Map<ServiceName, number>> {
  const out = new Map<ServiceName, number>()
  await Promise.all(
    ALL_SERVICE_NAMES.map(async (name) => {
      const pid = await ourLivePid(layout.pidFile(name), layout.serviceDir(name))
      if (pid !== undefined) out.set(name, pid)
    }),
  )
  return out
}

/** Ports for status/down/env: a running stack's remembered ports win over env and options. */
function currentPorts(layout: StackLayout, opts: StackOptions, anyRunning: boolean): StackPorts {
  const explicit = [portsFromEnv(), opts.ports ?? {}]
  return anyRunning ? mergePorts(...explicit, readSavedPorts(layout.portsFile)) : mergePorts(...explicit)
}

function environment(
  layout: StackLayout,
  ports: StackPorts,
  optional: readonly ServiceName[] = [],
): StackEnvironment {
  const env: StackEnvironment = {}
  for (const name of [...SERVICE_NAMES, ...optional]) Object.assign(env, SERVICES[name].env(ports))
  // Lets tests and scripts find the stack (logs, pid files); only if it needs no shell quoting.
  if (isShellSafe(layout.root)) env.AGENT_PARTY_STACK_DIR = layout.root
  return env
}

/**
 * Starts the selected services that are not running (in parallel), waits until each answers a
 * real request, writes <dir>/stack.env and returns its content. Idempotent: running services
 * are only checked for readiness.
 */
export async function stackUp(opts: StackOptions = {}): Promise<StackEnvironment> {
  const layout = stackLayout(opts.dir)
  const log = opts.log ?? (() => {})
  const services = selected(opts, restoreInstanceWanted() ? OPTIONAL_SERVICE_NAMES : [])
  prepareDirs(layout)
  return withStackLock(layout.lockFile, async () => {
    const t0 = Date.now()
    const running = await runningPids(layout)
    const saved = mergePorts(readSavedPorts(layout.portsFile))
    const explicit: Partial<StackPorts> = { ...portsFromEnv(), ...opts.ports }
    const ports = mergePorts(running.size > 0 ? saved : {}, explicit)
    // A running service keeps the ports it was started with.
    for (const name of running.keys()) {
      const svc = SERVICES[name]
      for (const key of svc.portKeys) {
        if (explicit[key] !== undefined && explicit[key] !== saved[key] && services.includes(svc)) {
          throw new StackError(
            'PORT_MISMATCH',
            `${name} is running on ${key}=${saved[key]}, but ${explicit[key]} was requested. ` +
              'Run `agent-party stack down` first to change its port.',
            { service: name },
          )
        }
        ports[key] = saved[key]
      }
    }
    assertDistinctPorts(ports)
    const ctx: ServiceContext = { layout, ports, log }
    const toStart = services.filter((svc) => !running.has(svc.name))
    // Fail fast on busy ports (all of them reported) before any download or start.
    throwAll(toStart, await Promise.allSettled(toStart.map((svc) => assertPortsFree(svc, ctx))))
    // Remember the ports before starting, so down/status find a half-started stack too.
    writeSavedPorts(layout.portsFile, ports)

    const results = await Promise.allSettled(
      services.map(async (svc) => {
        const pid = running.get(svc.name)
        if (pid === undefined) return startService(svc, ctx)
        await waitReady(svc, ctx, pid)
        log(`${svc.name}: already running (pid ${pid})`)
        return pid
      }),
    )
    throwAll(services, results)
    const optional = OPTIONAL_SERVICE_NAMES.filter(
      (name) => running.has(name) || services.some((svc) => svc.name === name),
    )
    const env = environment(layout, ports, optional)
    writeStackEnv(layout.envFile, env)
    log(`stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; settings in ${layout.envFile}`)
    return env
  })
}

/** Throws the one error, or one StackError carrying all of them (code of the first) as causes. */
function throwAll(services: ServiceDefinition[], results: PromiseSettledResult<unknown>[]): void {
  const errors = results.flatMap((r, i) => {
    if (r.status === 'fulfilled') return []
    const err: unknown = r.reason
    const name = services[i]?.name
    return [
      err instanceof StackError
        ? err
        : new StackError('START_FAILED', `${name}: ${String(err)}`, {
            ...(name ? { service: name } : {}),
            cause: err,
          }),
    ]
  })
  const [first] = errors
  if (!first) return
  if (errors.length === 1) throw first
  throw new StackError(first.code, errors.map((e) => e.message).join('\n\n'), { causes: errors })
}

function assertDistinctPorts(ports: StackPorts): void {
  const seen = new Map<number, string>()
  for (const [key, port] of Object.entries(ports)) {
    const other = seen.get(port)
    if (other)
      throw new StackError('INVALID_PORT', `Ports ${other} and ${key} are both ${port}; give each its own.`)
    seen.set(port, key)
  }
}

async function stopServices(layout: StackLayout, services: ServiceDefinition[], log: (line: string) => void) {
  await Promise.all(
    services.map(async (svc) => {
      const pid = await ourLivePid(layout.pidFile(svc.name), layout.serviceDir(svc.name))
      if (pid === undefined) return
      log(`${svc.name}: stopping pid ${pid}`)
      const how = await stopPid(pid, svc.stopTimeoutMs)
      await rm(layout.pidFile(svc.name), { force: true })
      log(
        `${svc.name}: ${how === 'killed' ? `did not stop within ${svc.stopTimeoutMs / 1000} s, killed` : 'stopped'}`,
      )
    }),
  )
}

/** Stops the selected services that this stack started (per pid file); others are untouched. */
export async function stackDown(opts: StackOptions = {}): Promise<void> {
  const layout = stackLayout(opts.dir)
  const services = selected(opts, runningOptional(await runningPids(layout)))
  prepareDirs(layout)
  await withStackLock(layout.lockFile, () => stopServices(layout, services, opts.log ?? (() => {})))
}

export async function stackStatus(opts: StackOptions = {}): Promise<ServiceStatus[]> {
  const layout = stackLayout(opts.dir)
  const running = await runningPids(layout)
  const services = selected(opts, runningOptional(running))
  const ports = currentPorts(layout, opts, running.size > 0)
  return Promise.all(
    services.map(async (svc): Promise<ServiceStatus> => {
      const pid = running.get(svc.name)
      const status: ServiceStatus = {
        name: svc.name,
        running: pid !== undefined,
        pid,
        port: ports[svc.portKeys[0]],
        // Only our own process counts: someone else's server on the port is not "the stack".
        ready: pid !== undefined && (await svc.probe(ports)),
      }
      const rss = pid === undefined ? undefined : rssBytes(pid)
      if (rss !== undefined) status.rssBytes = rss
      return status
    }),
  )
}

/** Last `lines` (default 100) lines of <dir>/logs/<service>.log; empty if it never ran. */
export async function stackLogs(
  service: ServiceName,
  opts: StackOptions & { lines?: number } = {},
): Promise<string> {
  const layout = stackLayout(opts.dir)
  const [svc] = selected({ services: [service] })
  return svc ? tailFile(layout.logFile(svc.name), opts.lines ?? 100) : ''
}

/** Connection settings for the current (or would-be) ports, without starting anything. */
export async function stackEnv(opts: StackOptions = {}): Promise<StackEnvironment> {
  const layout = stackLayout(opts.dir)
  const running = await runningPids(layout)
  return environment(layout, currentPorts(layout, opts, running.size > 0), runningOptional(running))
}

/** Stops the selected services and deletes their data, config and logs; downloads in lib/ stay. */
export async function stackReset(opts: StackOptions = {}): Promise<void> {
  const layout = stackLayout(opts.dir)
  const services = selected(opts, OPTIONAL_SERVICE_NAMES)
  const log = opts.log ?? (() => {})
  prepareDirs(layout)
  await withStackLock(layout.lockFile, async () => {
    await stopServices(layout, services, log)
    for (const svc of services) {
      await rm(layout.serviceDir(svc.name), { recursive: true, force: true })
      await rm(layout.logFile(svc.name), { force: true })
      await rm(`${layout.logFile(svc.name)}.1`, { force: true })
      log(`${svc.name}: data deleted`)
    }
    if (SERVICE_NAMES.every((name) => services.some((svc) => svc.name === name))) {
      await rm(layout.envFile, { force: true })
      await rm(layout.portsFile, { force: true })
    }
  })
}
