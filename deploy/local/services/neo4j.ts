// Neo4j 5.26 Community, embedded in deploy/local/neo4j/Neo4jLauncher.java and reachable only
// over Bolt on 127.0.0.1, auth off. The launcher is compiled once with javac into the stack's
// lib dir (measured: ~1 s faster start and ~40 MB less RSS than the single-file source launcher,
// which would also compile it on every start).
// `neo4jRestore` is an optional second instance from the same jars (its own folder, Bolt 7688, a
// smaller heap and page cache): the target of graph backup restores, as Community edition has one
// user database.

import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import neo4jDriver from 'neo4j-driver'
import { StackError } from '../errors.js'
import { findJava, findJavac, type JavaRuntime } from '../java.js'
import { fileHash, jvmFlags } from '../jvm.js'
import { assetPath, type StackLayout } from '../layout.js'
import { fetchPomDependencies } from '../maven.js'
import { tcpExchange, withTimeout } from '../net.js'
import type { LaunchSpec, ServiceContext, ServiceDefinition } from '../service.js'
import type { StackPorts } from '../types.js'

const run = promisify(execFile)

interface Neo4jInstance {
  readonly name: 'neo4j' | 'neo4j-restore'
  readonly portKey: 'neo4jBolt' | 'neo4jRestoreBolt'
  readonly heap: string
  readonly pageCache: string
}

const MAIN: Neo4jInstance = { name: 'neo4j', portKey: 'neo4jBolt', heap: '512m', pageCache: '128m' }
// A restore target holds one backup at a time and runs only beside the whole stack: small memory.
const RESTORE: Neo4jInstance = {
  name: 'neo4j-restore',
  portKey: 'neo4jRestoreBolt',
  heap: '256m',
  pageCache: '48m',
}

function neo4jConf(port: number, pageCache: string): string {
  const bolt = `127.0.0.1:${port}`
  return `${[
    'server.default_listen_address=127.0.0.1',
    'server.bolt.enabled=true',
    `server.bolt.listen_address=${bolt}`,
    `server.bolt.advertised_address=${bolt}`,
    'server.bolt.tls_level=DISABLED',
    // Local dev stack: no auth, NEO4J_PASSWORD is empty.
    'dbms.security.auth_enabled=false',
    // Never phone home from a dev or CI machine.
    'dbms.usage_report.enabled=false',
    // The 8 MiB default page cache turns every query into disk reads.
    `server.memory.pagecache.size=${pageCache}`,
    // Keep the transaction logs of a dev store small.
    'db.tx_log.rotation.retention_policy=2 files',
    // Netty waits a 5 s quiet period per event loop group on shutdown (10 s per stop, measured);
    // the databases are already checkpointed by then, so nothing is gained by waiting.
    'internal.dbms.bolt.netty_server_shutdown_quiet_period=0',
  ].join('\n')}\n`
}

/** Compiles the launcher when its source (or the target Java) changed since the last compile. */
async function compileLauncher(layout: StackLayout, java: JavaRuntime): Promise<string> {
  const source = assetPath('neo4j', 'Neo4jLauncher.java')
  const classesDir = path.join(layout.libRoot, 'neo4j-launcher')
  const stamp = `${fileHash(source)} release=${java.major}`
  const stampFile = path.join(classesDir, '.compiled')
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return classesDir
  const { javac, release } = findJavac(java)
  const tmp = `${classesDir}.tmp-${process.pid}`
  await rm(tmp, { recursive: true, force: true })
  await mkdir(tmp, { recursive: true })
  try {
    await run(javac, ['--release', String(release), '-d', tmp, '-cp', `${layout.libDir('neo4j')}/*`, source])
  } catch (err) {
    const e = err as { stderr?: string }
    throw new StackError('START_FAILED', `neo4j: compiling ${source} failed:\n${e.stderr ?? String(err)}`, {
      service: 'neo4j',
      cause: err,
    })
  }
  await writeFile(path.join(tmp, '.compiled'), stamp)
  await rm(classesDir, { recursive: true, force: true })
  await rename(tmp, classesDir)
  return classesDir
}

/**
 * The jars and the compiled launcher, shared by both instances: once per lib folder and process, so
 * that two instances starting together do not download or compile into the same folders at once.
 */
const installs = new Map<string, Promise<{ java: JavaRuntime; lib: string; classes: string }>>()

function install(ctx: ServiceContext): Promise<{ java: JavaRuntime; lib: string; classes: string }> {
  const lib = ctx.layout.libDir('neo4j')
  let done = installs.get(lib)
  if (!done) {
    done = (async () => {
      const java = findJava(17)
      await fetchPomDependencies('Neo4j 5.26 jars', assetPath('neo4j', 'pom.xml'), lib, ctx.log)
      return { java, lib, classes: await compileLauncher(ctx.layout, java) }
    })()
    installs.set(lib, done)
    done.catch(() => installs.delete(lib))
  }
  return done
}

async function prepare(instance: Neo4jInstance, ctx: ServiceContext): Promise<LaunchSpec> {
  const { java, lib, classes } = await install(ctx)
  const dir = ctx.layout.serviceDir(instance.name)
  const home = path.join(dir, 'home')
  await mkdir(home, { recursive: true })
  const conf = path.join(dir, 'neo4j.conf')
  await writeFile(conf, neo4jConf(ctx.ports[instance.portKey], instance.pageCache))
  return {
    command: java.java,
    args: [
      // Neo4j reaches into NIO internals (page cache, Netty); without these it fails or warns.
      '--add-opens=java.base/java.nio=ALL-UNNAMED',
      '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
      '--add-opens=java.base/java.io=ALL-UNNAMED',
      // Serial GC for a small heap; C2 kept because the sinks' Cypher is the hot path in tests.
      ...jvmFlags(ctx.layout.root, { heap: instance.heap, serialGc: true }),
      '-cp',
      `${classes}:${lib}/*`,
      'Neo4jLauncher',
      home,
      conf,
    ],
  }
}

/** Bolt magic preamble + 4 proposed versions (5.0-5.4, 4.4): the server answers 4 bytes. */
const BOLT_HANDSHAKE = Buffer.from([
  0x60, 0x60, 0xb0, 0x17, 0x00, 0x04, 0x04, 0x05, 0x00, 0x00, 0x04, 0x04, 0, 0, 0, 0, 0, 0, 0, 0,
])

/**
 * Ready = a Cypher `RETURN 1` succeeds over Bolt (the database is online, not just the socket).
 * A raw handshake first keeps the probe cheap while the port is still closed, and the driver
 * gets no retries: its default retry loop (up to 30 s) would hide the moment it became ready.
 */
async function probe(port: number): Promise<boolean> {
  const agreed = await tcpExchange(port, BOLT_HANDSHAKE, (buf) =>
    buf.length >= 4 ? buf.readUInt32BE(0) : undefined,
  )
  if (!agreed) return false
  const driver = neo4jDriver.driver(`bolt://127.0.0.1:${port}`, neo4jDriver.auth.basic('neo4j', ''), {
    connectionTimeout: 1500,
    connectionAcquisitionTimeout: 2000,
    maxTransactionRetryTime: 0,
    maxConnectionPoolSize: 1,
    logging: { level: 'error', logger: () => {} },
  })
  try {
    const res = await withTimeout(driver.executeQuery('RETURN 1 AS one'), 3000)
    return res?.records.length === 1
  } finally {
    await driver.close().catch(() => {})
  }
}

export const neo4j: ServiceDefinition = {
  name: MAIN.name,
  portKeys: [MAIN.portKey],
  startTimeoutMs: 120_000,
  // A clean shutdown checkpoints the store; SIGKILL would force recovery on the next start.
  stopTimeoutMs: 30_000,
  prepare: (ctx) => prepare(MAIN, ctx),
  probe: (ports: StackPorts) => probe(ports[MAIN.portKey]),
  env: (p) => ({
    NEO4J_URI: `bolt://127.0.0.1:${p.neo4jBolt}`,
    NEO4J_USERNAME: 'neo4j',
    NEO4J_PASSWORD: '',
  }),
}

/** The optional restore target (auth off like the first: same user and empty password). */
export const neo4jRestore: ServiceDefinition = {
  name: RESTORE.name,
  portKeys: [RESTORE.portKey],
  startTimeoutMs: 120_000,
  stopTimeoutMs: 30_000,
  prepare: (ctx) => prepare(RESTORE, ctx),
  probe: (ports: StackPorts) => probe(ports[RESTORE.portKey]),
  env: (p) => ({ NEO4J_RESTORE_URI: `bolt://127.0.0.1:${p.neo4jRestoreBolt}` }),
}
