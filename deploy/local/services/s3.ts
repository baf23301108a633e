// S3-compatible object store: s3proxy 4.1 (one jar with dependencies from Maven Central) with
// the jclouds filesystem-nio2 backend, so buckets are plain folders under <stack>/s3/buckets.

import { mkdir, writeFile } from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { Client } from 'minio'
import { findJava } from '../java.js'
import { jvmFlags } from '../jvm.js'
import { mavenFetch } from '../maven.js'
import { withTimeout } from '../net.js'
import type { LaunchSpec, ServiceContext, ServiceDefinition } from '../service.js'
import type { StackPorts } from '../types.js'

const ARTIFACT = 'org.gaul:s3proxy:4.1.0:jar:jar-with-dependencies'
const JAR = 's3proxy-4.1.0-jar-with-dependencies.jar'
export const S3_ACCESS_KEY = 'agentparty'
export const S3_SECRET_KEY = 'agentparty-secret'
export const S3_REGION = 'us-east-1'

async function prepare(ctx: ServiceContext): Promise<LaunchSpec> {
  const java = findJava(17)
  const lib = ctx.layout.libDir('s3')
  await mavenFetch({
    what: 's3proxy 4.1 jar',
    targetDir: lib,
    key: ARTIFACT,
    args: () => ['dependency:copy', `-Dartifact=${ARTIFACT}`],
    log: ctx.log,
  })
  const dir = ctx.layout.serviceDir('s3')
  const buckets = path.join(dir, 'buckets')
  await mkdir(buckets, { recursive: true })
  const props = path.join(dir, 's3proxy.properties')
  await writeFile(
    props,
    `${[
      `s3proxy.endpoint=http://127.0.0.1:${ctx.ports.s3}`,
      's3proxy.authorization=aws-v2-or-v4',
      `s3proxy.identity=${S3_ACCESS_KEY}`,
      `s3proxy.credential=${S3_SECRET_KEY}`,
      'jclouds.provider=filesystem-nio2',
      `jclouds.filesystem.basedir=${buckets}`,
    ].join('\n')}\n`,
  )
  return {
    command: java.java,
    args: [
      ...jvmFlags(ctx.layout.root, { heap: '256m', c1Only: true }),
      '-jar',
      path.join(lib, JAR),
      '--properties',
      props,
    ],
  }
}

/** Ready = an authenticated ListBuckets succeeds. */
async function probe(ports: StackPorts): Promise<boolean> {
  const client = new Client({
    endPoint: '127.0.0.1',
    port: ports.s3,
    useSSL: false,
    accessKey: S3_ACCESS_KEY,
    secretKey: S3_SECRET_KEY,
    pathStyle: true,
    region: S3_REGION,
    retryOptions: { disableRetry: true },
    // No keep-alive: a probe must not leave sockets that keep the CLI process alive.
    transportAgent: new http.Agent({ keepAlive: false }),
  })
  try {
    return (await withTimeout(client.listBuckets(), 2000)) !== undefined
  } catch {
    return false
  }
}

export const s3: ServiceDefinition = {
  name: 's3',
  portKeys: ['s3'],
  startTimeoutMs: 60_000,
  stopTimeoutMs: 15_000,
  prepare,
  probe,
  env: (p) => ({
    S3_ENDPOINT: `http://127.0.0.1:${p.s3}`,
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    S3_REGION,
  }),
}
