// Schema registry: Apicurio Registry 3.3 (Quarkus app, Confluent-compatible API under
// /apis/ccompat/v7), unpacked from its Maven Central tarball, storing schemas in an H2 file
// database under <stack>/registry/db. Needs Java 21+ (REGISTRY_JAVA_HOME, JAVA_HOME, /usr/lib/jvm).

import { execFile } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { findJava } from '../java.js'
import { jvmFlags } from '../jvm.js'
import { mavenFetch } from '../maven.js'
import { httpOk } from '../net.js'
import type { LaunchSpec, ServiceContext, ServiceDefinition } from '../service.js'
import type { StackPorts } from '../types.js'

const run = promisify(execFile)
const ARTIFACT = 'io.apicurio:apicurio-registry-app:3.3.3:tar.gz:all'

async function unpack(dir: string): Promise<void> {
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tar.gz'))
  if (!tarball) throw new Error(`no .tar.gz in ${dir}`)
  await run('tar', ['xzf', tarball], { cwd: dir })
  // Only the unpacked Quarkus app is needed; the 158 MB tarball stays in ~/.m2 anyway.
  await rm(path.join(dir, tarball))
}

async function prepare(ctx: ServiceContext): Promise<LaunchSpec> {
  // Quarkus 3 / Apicurio 3 classes are Java 21 bytecode: Java 17 fails with
  // UnsupportedClassVersionError, so this is checked before downloading anything.
  const java = findJava(21, { envVar: 'REGISTRY_JAVA_HOME' })
  const lib = ctx.layout.libDir('registry')
  await mavenFetch({
    what: 'Apicurio Registry 3.3 app',
    targetDir: lib,
    key: ARTIFACT,
    args: () => ['dependency:copy', `-Dartifact=${ARTIFACT}`],
    finish: unpack,
    log: ctx.log,
  })
  const dir = ctx.layout.serviceDir('registry')
  const db = path.join(dir, 'db')
  await mkdir(db, { recursive: true })
  const p = ctx.ports
  return {
    command: java.java,
    args: [
      ...jvmFlags(ctx.layout.root, { heap: '256m', c1Only: true }),
      `-Dquarkus.http.host=127.0.0.1`,
      `-Dquarkus.http.port=${p.registry}`,
      // The management interface (health/metrics) is build-time enabled and defaults to port
      // 9000, the S3 port; it cannot be turned off at run time, so it gets its own port.
      `-Dquarkus.management.host=127.0.0.1`,
      `-Dquarkus.management.port=${p.registryManagement}`,
      // H2 in a file instead of the default in-memory db, so schemas (and their ids, which are
      // written into every Kafka record) survive restarts. The default pool of 20 connections
      // is far more than a local registry needs.
      `-Dapicurio.datasource.url=jdbc:h2:file:${path.join(db, 'registry')}`,
      '-Dapicurio.datasource.jdbc.initial-size=2',
      '-Dapicurio.datasource.jdbc.min-size=2',
      '-Dapicurio.datasource.jdbc.max-size=20',
      // The shipped console format prints dates like "2026-11+00-27".
      '-Dquarkus.log.console.format=%d{yyyy-MM-dd HH:mm:ss,SSS} %p [%c{2.}] (%t) %m%n',
      '-jar',
      path.join(lib, 'quarkus-run.jar'),
    ],
  }
}

/** Ready = the Confluent-compatible subjects endpoint answers 200 (storage initialised). */
function probe(ports: StackPorts): Promise<boolean> {
  return httpOk(`http://127.0.0.1:${ports.registry}/apis/ccompat/v7/subjects`)
}

export const registry: ServiceDefinition = {
  name: 'registry',
  portKeys: ['registry', 'registryManagement'],
  startTimeoutMs: 90_000,
  stopTimeoutMs: 15_000,
  prepare,
  probe,
  env: (p) => ({ SCHEMA_REGISTRY_URL: `http://127.0.0.1:${p.registry}/apis/ccompat/v7` }),
}
