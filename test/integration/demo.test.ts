// `agent-party demo` as a new user runs it (what `npm run demo` runs), in a child process against the
// local stack that is already up (as in CI): it uses that stack, provisions, runs the pipeline, produces
// sample traffic, prints "Ready" with the URLs and example queries; the printed queries, with the
// printed token, answer with data of the sample traffic; Ctrl-C (SIGINT) stops it with exit 0 and the
// shared stack keeps running. This file's own application id, topics, sink groups, Redis prefix and
// ports keep it apart from the other files.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { stackStatus } from '../../deploy/local/stack.js'
import { prefixedTopics } from '../../ops/produce.js'
import { OUTPUT_NAMES } from '../../processors/outputs.js'
import { removePipelineRun } from '../support/cleanup.js'
import { RunningCli } from '../support/cli.js'
import { stackConfig, stackDir, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const applicationId = `${prefix}-app`
const sinkGroupPrefix = `${prefix}-sink`
const redisPrefix = `${prefix}:`
const dir = mkdtempSync(join(tmpdir(), 'demo-'))
const processorFile = join(dir, 'processor.json')
const secretFile = join(stackDir(), 'demo', 'jwt-secret')
const secretExisted = existsSync(secretFile)

let cli: RunningCli | undefined

beforeAll(() => {
  writeFileSync(
    processorFile,
    JSON.stringify({
      applicationId,
      inputTopics: prefixedTopics(`${prefix}.`),
      outputTopics: Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${prefix}-${n}`])),
    }),
  )
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...stackEnv(),
    PROCESSOR_CONFIG: processorFile,
    // No registry subjects for this file's topics: the serdes travel with the code.
    SCHEMA_ENCODING: 'single-object',
    // The read model only: every example query then reads Redis, and the shared graph stays untouched.
    SINKS: 'redis',
    SINK_GROUP_PREFIX: sinkGroupPrefix,
    REDIS_KEY_PREFIX: redisPrefix,
    STATE_DIR: join(dir, 'state'),
    METRICS_PORT: '0',
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    API_RATE_LIMIT_PER_MINUTE: '0',
  }
  // The demo's own key (kept in the stack folder), as a new user gets it.
  delete env.API_JWT_SECRET
  delete env.LOG_LEVEL
  cli = new RunningCli(['demo', '--events', '1500', '--rate', '1000'], env)
})

afterAll(async () => {
  await cli?.kill()
  await removePipelineRun(config, {
    prefix,
    groups: [applicationId, `${sinkGroupPrefix}-redis`],
    redisPrefix,
  })
  if (!secretExisted) rmSync(join(stackDir(), 'demo'), { recursive: true, force: true })
  rmSync(dir, { recursive: true, force: true })
})

describe('agent-party demo', () => {
  it('uses the stack already up, produces sample traffic, and its printed queries answer with that data', async () => {
    const demo = cli as RunningCli
    await vi.waitFor(
      () => {
        if (demo.child.exitCode !== null)
          throw new Error(`demo exited ${demo.child.exitCode}:\n${demo.stderr}\n${demo.stdout}`)
        expect(demo.stdout).toMatch(/^Press Ctrl-C to stop\.$/m)
      },
      { timeout: 75_000, interval: 250 },
    )
    const { stdout, stderr } = demo
    expect(stderr).toContain('local stack: already up, using it')
    expect(stdout).toMatch(/^Ready: 1500 sample events produced and applied/m)
    expect(stdout).toContain('it was already up and keeps running after the demo')
    // The progress bar of the generator reached the end.
    expect(stderr).toMatch(/100% 1,500\/1,500 events/)

    const apiUrl = /API docs {7}(http:\/\/127\.0\.0\.1:\d+)\/docs/.exec(stdout)?.[1]
    expect(apiUrl).toBeDefined()
    expect((await fetch(`${apiUrl}/docs/json`)).status).toBe(200)
    expect((await fetch(`${apiUrl}/ready`)).status).toBe(200)
    const token = /^ {2}export TOKEN=(\S+)$/m.exec(stdout)?.[1] as string
    expect(token).toBeDefined()
    const urls = [...stdout.matchAll(/curl -s -H "Authorization: Bearer \$TOKEN" '([^']+)'/g)].map(
      (m) => m[1],
    )
    expect(urls).toHaveLength(4)
    const agentUrl = urls.find((u) => /\/agents\/[^/?]+$/.test(u as string)) as string
    expect(agentUrl).toBeDefined()
    // The printed agent query, as the user pastes it: the agent of the sample traffic.
    const agent = await fetch(agentUrl, { headers: { authorization: `Bearer ${token}` } })
    expect(agent.status).toBe(200)
    const id = decodeURIComponent(agentUrl.slice(agentUrl.lastIndexOf('/') + 1))
    expect(await agent.json()).toMatchObject({ agent_id: id, template_id: expect.any(String) })
    // Every printed query answers with data; without the token, none answers.
    for (const url of urls) {
      const response = await fetch(url as string, { headers: { authorization: `Bearer ${token}` } })
      const text = await response.text()
      expect(response.status, `${url}: ${text}`).toBe(200)
      expect(text, url).not.toMatch(/"(items|windows)":\[\]/)
      expect((await fetch(url as string)).status).toBe(401)
    }
  }, 90_000)

  it('stops on Ctrl-C with exit 0 and leaves the stack it did not start running', async () => {
    const demo = cli as RunningCli
    demo.child.kill('SIGINT')
    const code = await demo.exitWithin(20_000, 'SIGINT')
    const { stdout, stderr } = demo
    expect(code, stderr.slice(-2000)).toBe(0)
    expect(stderr).not.toMatch(/agent-party:|stopping the stack services/)
    expect(stdout).not.toMatch(/"level":"(error|fatal)"/)
    const services = await stackStatus()
    for (const name of ['kafka', 'neo4j', 'redis', 's3', 'registry'])
      expect(services.find((s) => s.name === name)?.running, name).toBe(true)
  }, 30_000)
})
