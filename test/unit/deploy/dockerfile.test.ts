// The container image (deploy/docker/Dockerfile): Docker cannot run here, so the file is read with
// test/support/deploy-dockerfile.ts and held to what a user of the image relies on: a build stage
// with the dev dependencies and a Node 24 slim runtime with production dependencies only, every file
// the processes read at run time, a non-root user, `agent-party` as the entry point with `run api` by
// default, and a healthcheck whose command really tells a serving process from a dead one.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { posix } from 'node:path'
import { promisify } from 'node:util'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { ProbeServer } from '../../../config/probe-server.js'
import { copyOf, last, parseDockerfile, type Stage } from '../../support/deploy-dockerfile.js'

const root = new URL('../../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')
const dockerfile = parseDockerfile(read('deploy/docker/Dockerfile'))
const ignore = read('deploy/docker/Dockerfile.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> }
const lock = JSON.parse(read('package-lock.json')) as {
  packages: Record<string, { dev?: boolean; optional?: boolean; hasInstallScript?: boolean }>
}
const buildConfig = JSON.parse(read('tsconfig.build.json')) as { include: string[] }

const build = dockerfile.stages[0] as Stage
const runtime = dockerfile.stages.at(-1) as Stage
const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args)
const copies = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'COPY').map(copyOf)
const workdir = (stage: Stage) => last(stage, 'WORKDIR')?.args ?? '/'
const execFileAsync = promisify(execFile)

describe('deploy/docker/Dockerfile', () => {
  it('builds in a stage of its own and runs on Node 24 slim', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'runtime'])
    expect(runtime.image).toMatch(/^node:24(\.\d+)*-[a-z]+-slim$/)
    expect(build.image).toBe(runtime.image) // the code is compiled by the Node it runs on
  })

  it('compiles with the dev dependencies, and installs only the production ones in the runtime', () => {
    const buildInstall = runs(build).find((r) => r.startsWith('npm ci'))
    expect(buildInstall).toBeDefined()
    expect(buildInstall).not.toContain('--omit=dev')
    expect(runs(build).some((r) => r.includes('tsc -p tsconfig.build.json'))).toBe(true)
    expect(runs(runtime).some((r) => /^npm ci --omit=dev\b/.test(r))).toBe(true)
    expect(runs(runtime).join('\n')).not.toMatch(/tsc|npm run build/)
  })

  it('skips install scripts only where no production dependency needs one', () => {
    // --ignore-scripts in the runtime is safe only while every package that needs its install script
    // is a dev dependency (today: the `node` binary package and esbuild), or has a script that only
    // compiles from source when no prebuilt binary fits: lmdb (STATE_STORE=lmdb), whose prebuilds for
    // Linux on glibc come as optional packages the lock names, and msgpackr-extract, which msgpackr
    // runs without.
    const prebuilt = ['node_modules/lmdb', 'node_modules/msgpackr-extract']
    const withScripts = Object.entries(lock.packages)
      .filter(([name, p]) => name !== '' && p.hasInstallScript && !p.dev)
      .map(([name]) => name)
    expect(withScripts.filter((name) => !prebuilt.includes(name))).toEqual([])
    for (const arch of ['x64', 'arm64']) {
      const binary = lock.packages[`node_modules/@lmdb/lmdb-linux-${arch}`]
      expect(binary?.optional, arch).toBe(true)
    }
  })

  it('copies into the build stage every folder the build compiles', () => {
    const copied = copies(build).flatMap((c) => c.sources)
    for (const folder of buildConfig.include) expect(copied, folder).toContain(folder)
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'])
      expect(copied).toContain(file)
  })

  it('copies into the runtime what the processes read: dist/, the Avro schemas and the package files', () => {
    const dir = workdir(runtime)
    const target = (c: ReturnType<typeof copyOf>) => posix.resolve(dir, c.destination)
    const dist = copies(runtime).find((c) => c.from === 'build' && c.sources[0] === `${workdir(build)}/dist`)
    expect(dist && target(dist)).toBe(`${dir}/dist`)
    // schemas/schema-catalog.ts looks from dist/schemas/ for ../../schemas/avro.
    const avro = copies(runtime).find((c) => c.sources.includes('schemas/avro'))
    expect(avro && target(avro)).toBe(posix.resolve(`${dir}/dist/schemas`, '../../schemas/avro'))
    expect(existsSync(new URL('schemas/avro', root))).toBe(true)
    const files = copies(runtime).flatMap((c) => (c.from ? [] : c.sources))
    expect(files).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']))
  })

  it('keeps from the build context nothing the stages copy', () => {
    const copied = dockerfile.stages.flatMap((s) => copies(s).flatMap((c) => (c.from ? [] : c.sources)))
    for (const pattern of ignore) {
      const prefix = pattern.replace(/^\*\*\//, '').replace(/\*.*$/, '')
      if (prefix === '') continue
      for (const path of copied) expect(path.startsWith(prefix), `${pattern} ignores ${path}`).toBe(false)
    }
    expect(ignore).toEqual(expect.arrayContaining(['node_modules', 'dist', '.stack', '.git']))
  })

  it('runs as a user other than root, by number (Kubernetes runAsNonRoot checks the uid)', () => {
    const user = last(runtime, 'USER')?.args ?? 'root'
    expect(user).toMatch(/^\d+(:\d+)?$/)
    expect(Number(user.split(':')[0])).toBeGreaterThan(0)
    // USER comes after the last RUN, so nothing later runs as root by accident
    const index = (k: string) => runtime.instructions.findLastIndex((i) => i.keyword === k)
    expect(index('USER')).toBeGreaterThan(index('RUN'))
  })

  it('enters at `agent-party`, linked to the package bin, with `run api` by default', () => {
    expect(last(runtime, 'ENTRYPOINT')?.exec).toEqual(['agent-party'])
    expect(last(runtime, 'CMD')?.exec).toEqual(['run', 'api'])
    const link = runs(runtime).join(' ')
    const bin = pkg.bin['agent-party'] as string
    expect(link).toContain(`ln -s ${workdir(runtime)}/${bin} /usr/local/bin/agent-party`)
    expect(link).toContain(`chmod 0755 ${workdir(runtime)}/${bin}`)
    expect(read('cli/main.ts').startsWith('#!/usr/bin/env node\n')).toBe(true)
  })

  describe('jemalloc', () => {
    const env = new Map(
      runtime.instructions
        .filter((i) => i.keyword === 'ENV')
        .map((i) => i.args.split('=', 2) as [string, string]),
    )
    const install = (runs(runtime).find((r) => r.includes('libjemalloc2')) ?? '').replace(/\s+/g, ' ')

    it("is preloaded in every process, from Debian's package, linked where LD_PRELOAD looks", () => {
      expect(install).toMatch(/apt-get update && apt-get install -y --no-install-recommends libjemalloc2 /)
      expect(install).toContain('rm -rf /var/lib/apt/lists/*')
      const link = /ln -s "\$\((dpkg -L libjemalloc2 \| grep '[^']+')\)" (\S+)$/.exec(install)
      expect(link?.[2]).toBe(env.get('LD_PRELOAD'))
      // Before USER: apt-get needs root.
      const index = (k: string) => runtime.instructions.findLastIndex((i) => i.keyword === k)
      const at = runtime.instructions.findIndex((i) => i.args.includes('libjemalloc2'))
      expect(at).toBeGreaterThan(-1)
      expect(at).toBeLessThan(index('USER'))
    })

    it("loads into Node 24 on this Debian with the image's settings, without a warning", async () => {
      // The command the image links the library by, run against this machine's package (the same
      // Debian release as the image's).
      const lookup = /"\$\((dpkg -L libjemalloc2 \| grep '[^']+')\)"/.exec(install)?.[1] as string
      const { stdout: path } = await execFileAsync('sh', ['-c', lookup])
      expect(path.trim().split('\n')).toHaveLength(1)
      const { stdout, stderr } = await execFileAsync(
        process.execPath,
        ['-e', "console.log(require('fs').readFileSync('/proc/self/maps', 'utf8').includes('libjemalloc'))"],
        {
          env: {
            ...process.env,
            LD_PRELOAD: path.trim(),
            MALLOC_CONF: env.get('MALLOC_CONF'),
            NODE_OPTIONS: '',
          },
        },
      )
      expect(stdout.trim()).toBe('true')
      expect(stderr).toBe('') // jemalloc names a MALLOC_CONF option it does not know on stderr
      expect(process.versions.node.split('.')[0]).toBe('24')
    })
  })

  it('exposes the API port and the metrics port', () => {
    expect(last(runtime, 'EXPOSE')?.args.split(/\s+/)).toEqual(['8000', '9464'])
  })

  describe('HEALTHCHECK', () => {
    const healthcheck = last(runtime, 'HEALTHCHECK')
    const command = healthcheck?.exec ?? []

    it('is an exec-form Node command (the slim image has no curl)', () => {
      expect(command.slice(0, 2)).toEqual(['node', '-e'])
      expect(healthcheck?.args).toMatch(/--interval=\d+s/)
      expect(healthcheck?.args).toMatch(/--timeout=\d+s/)
    })

    async function check(env: Record<string, string>): Promise<number> {
      try {
        await execFileAsync(process.execPath, command.slice(1), {
          env: { PATH: process.env.PATH ?? '', ...env },
        })
        return 0
      } catch (error) {
        return (error as { code: number }).code
      }
    }

    async function freePort(): Promise<number> {
      const server = createServer()
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as { port: number }).port
      await new Promise((resolve) => server.close(resolve))
      return port
    }

    it('passes when the role serves /health on METRICS_PORT (processor, sinks) or API_PORT (api)', async () => {
      const probe = new ProbeServer({ registry: new Registry() })
      const port = await probe.start(0, '127.0.0.1')
      const nothing = String(await freePort())
      try {
        expect(await check({ METRICS_PORT: String(port), API_PORT: nothing })).toBe(0)
        expect(await check({ API_PORT: String(port), METRICS_PORT: nothing })).toBe(0)
      } finally {
        await probe.close()
      }
    })

    it('fails when nothing answers /health', async () => {
      const a = String(await freePort())
      const b = String(await freePort())
      expect(await check({ METRICS_PORT: a, API_PORT: b })).toBe(1)
    })

    it('fails when /health answers an error', async () => {
      const server = createHttpServer((_req, res) => res.writeHead(503).end())
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const port = String((server.address() as { port: number }).port)
      try {
        expect(await check({ METRICS_PORT: port, API_PORT: String(await freePort()) })).toBe(1)
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    })
  })
})
