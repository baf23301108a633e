// `agent-party schemas register|check` against the real registry, run as a user runs them, on the
// subjects of this file's topics (PROCESSOR_CONFIG naming them): check exits 4 while subjects are
// missing; register prints each subject with the id and version of the local schema and a second run
// registers nothing; check then exits 0; after a newer version lands under one subject and an
// incompatible foreign schema under another, check exits 4 saying which and why (the registry's
// compatibility answer included). Every subject made here is deleted after.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../cli/exit-codes.js'
import { prefixedTopics } from '../../ops/produce.js'
import type { SubjectCheck, SubjectRegistered } from '../../ops/schemas.js'
import { OUTPUT_NAMES } from '../../processors/outputs.js'
import { RegistryClient, schemaCatalog } from '../../schemas/index.js'
import { runCli, runInProcess } from '../support/cli.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const inputs = prefixedTopics(`${prefix}.`)
const outputs = Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${prefix}-${n}`]))
const subjects = [...Object.values(inputs), ...Object.values(outputs)].map((t) => `${t}-value`)
const dir = mkdtempSync(join(tmpdir(), 'cli-schemas-'))
const processorFile = join(dir, 'processor.json')
const env = { ...stackEnv(), PROCESSOR_CONFIG: processorFile }
const client = new RegistryClient({ url: config.schemaRegistry.url })

const cli = (args: string[]) => runCli(args, env, 90_000)
const here = (args: string[]) => runInProcess(args, env)

beforeAll(() => {
  writeFileSync(processorFile, JSON.stringify({ inputTopics: inputs, outputTopics: outputs }))
})

afterAll(async () => {
  for (const subject of subjects) await client.deleteSubject(subject, true).catch(() => {})
  rmSync(dir, { recursive: true, force: true })
})

describe('agent-party schemas', () => {
  it('check exits 4 while the subjects are missing', async () => {
    const result = await cli(['schemas', 'check', '--json'])
    expect(result.code).toBe(EXIT.MISMATCH)
    const checked = JSON.parse(result.stdout) as SubjectCheck[]
    expect(checked.map((c) => c.subject).sort()).toEqual([...subjects].sort())
    expect(checked.every((c) => c.status === 'missing' && c.latest === null)).toBe(true)
    expect(result.stderr).toContain(`${subjects.length} of ${subjects.length} registry subject(s) differ`)
    expect(result.stderr).not.toMatch(/^\s+at /m)
  })

  it('register prints subject, id and version of each local schema, and is idempotent', async () => {
    const first = await cli(['schemas', 'register', '--json'])
    expect(first.code, first.stderr).toBe(EXIT.OK)
    const registered = JSON.parse(first.stdout) as SubjectRegistered[]
    expect(registered.map((r) => r.subject).sort()).toEqual([...subjects].sort())
    expect(registered.every((r) => r.registeredNow)).toBe(true)
    for (const r of registered) {
      const latest = await client.latest(r.subject)
      expect(latest && { id: latest.id, version: latest.version }, r.subject).toEqual({
        id: r.id,
        version: r.version,
      })
    }
    // agent_events has a published history: its versions come first, the current one is the latest.
    const agents = registered.find((r) => r.subject === `${inputs.agent_events}-value`)
    expect(agents?.version).toBe(schemaCatalog().agent_events.history.length)

    const second = await here(['schemas', 'register', '--json'])
    expect(second.code, second.stderr).toBe(EXIT.OK)
    expect(JSON.parse(second.stdout)).toEqual(registered.map((r) => ({ ...r, registeredNow: false })))
    const text = await here(['schemas', 'register'])
    expect(text.stdout).toMatch(
      new RegExp(`^${inputs.team_events}-value\\s+\\d+\\s+1\\s+already registered$`, 'm'),
    )

    const check = await here(['schemas', 'check'])
    expect(check.code, check.stderr).toBe(EXIT.OK)
    expect(check.stdout.match(/ ok /g)).toHaveLength(subjects.length)
  })

  it('check exits 4 naming a subject whose latest is another version, and one holding an incompatible schema', async () => {
    const teams = `${inputs.team_events}-value`
    const local = JSON.parse(schemaCatalog().team_events.current.text) as { fields: unknown[] }
    const newer = {
      ...local,
      fields: [...local.fields, { name: 'test_extra', type: ['null', 'string'], default: null }],
    }
    await client.register(teams, JSON.stringify(newer))
    const alerts = `${outputs.alerts}-value`
    await client.deleteSubject(alerts, true)
    await client.register(
      alerts,
      JSON.stringify({ type: 'record', name: 'Foreign', fields: [{ name: 'x', type: 'int' }] }),
    )
    await client.setCompatibility(alerts, 'BACKWARD')

    const result = await cli(['schemas', 'check', '--json'])
    expect(result.code).toBe(EXIT.MISMATCH)
    const checked = new Map((JSON.parse(result.stdout) as SubjectCheck[]).map((c) => [c.subject, c]))
    expect(checked.get(teams)).toMatchObject({
      status: 'not-latest',
      latest: { version: 2 },
      localVersion: 1,
      compatibility: 'BACKWARD_TRANSITIVE',
      compatible: true,
    })
    expect(checked.get(alerts)).toMatchObject({
      status: 'differs',
      latest: { version: 1 },
      localVersion: null,
      compatibility: 'BACKWARD',
      compatible: false,
    })
    expect([...checked.values()].filter((c) => c.status !== 'ok')).toHaveLength(2)
    expect(result.stderr).toContain(`2 of ${subjects.length} registry subject(s) differ`)
    expect(result.stderr).toContain(`${teams} (not-latest)`)

    const text = await here(['schemas', 'check'])
    expect(text.code).toBe(EXIT.MISMATCH)
    expect(text.stdout).toMatch(
      new RegExp(`^${alerts}\\s+differs\\s+v1 .*INCOMPATIBLE with the latest under BACKWARD`, 'm'),
    )
    expect(text.stdout).toMatch(new RegExp(`^${teams}\\s+not-latest\\s+v2 .*the latest is version 2`, 'm'))
  })
})
