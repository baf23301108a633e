// Fuzzing the API with schemathesis (PyPI) against its own OpenAPI document, with a token of each role:
// no 5xx, every status declared by its route, every answer of the declared content type and schema.
// The API runs on the real stack with this file's names (its event topics, application id, sink groups
// and Redis prefix), so POST /events and POST /agents write only to this file's topics.
//
// POST /admin/reset and POST /admin/replay (which starts with the same reset) are left out of the role
// runs: a reset that ran would clear the Neo4j graph every file (and a developer's pipeline) shares,
// whatever the application id. They are fuzzed alone, as admin,
// on a second API whose Neo4j address answers nothing, while this file's application group has a live
// member: every reset the fuzzer sends must be refused (409) before it changes anything, and the test
// checks that none ran (no 200 in the API's own request metrics, the member still the same). Were the
// member gone, a reset naming Neo4j would fail to connect before changing anything (a 503 that fails
// the run), and one without it would reset only this file's application and Redis prefix.
//
// An anonymous pass (no token, a few examples) runs on a third API, whose Neo4j address answers nothing
// too: every route that needs a role must answer 401 in the error shape, whatever the fuzzer sends (a
// request it lets through would show as another status in that API's own request metrics), and the
// public routes their declared answers. GET /ready is asked directly there rather than fuzzed: it takes
// no input, and its declared 503 (Neo4j down, as on that API) is a server error to schemathesis; the
// role runs fuzz it with a Neo4j that answers.
import type { Admin, Consumer, MessagesStream } from '@platformatic/kafka'
import { MessagesStreamModes } from '@platformatic/kafka'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { Role } from '../../api/auth/roles.js'
import { createAdmin, createConsumer } from '../../kafka/clients.js'
import { prefixedTopics, prepareProduceTargets } from '../../ops/produce.js'
import { resolveProcessorConfig } from '../../processors/config.js'
import { OUTPUT_NAMES, type OutputName, outputSubjects } from '../../processors/outputs.js'
import { EVENT_FAMILIES, RegistryClient, registerSchemas, valueSubject } from '../../schemas/index.js'
import { TestApi } from '../support/api.js'
import { deleteTestTopics } from '../support/kafka.js'
import { keysUnder } from '../support/redis.js'
import {
  failureText,
  runSchemathesis,
  type SchemathesisCheck,
  type SchemathesisOptions,
  schemathesisBinary,
} from '../support/schemathesis.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const topics = prefixedTopics(`${prefix}.`)
const outputTopics = Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${prefix}-${n}`])) as Record<
  OutputName,
  string
>
const processor = resolveProcessorConfig({
  applicationId: `${prefix}-app`,
  inputTopics: topics,
  outputTopics,
})
const redisPrefix = `${prefix}:`
/** The API's environment: the reset routine reads the sinks' groups and the Redis prefix from it. */
const env = {
  REDIS_KEY_PREFIX: redisPrefix,
  SINK_GROUP_PREFIX: `${prefix}-sink`,
  // schemathesis's report shows each failing request and answer; the API's warnings would repeat them.
  LOG_LEVEL: 'error',
}
const RESET = '/admin/reset'
/** A replay starts with the same reset: fuzzed with it, never in the role runs. */
const REPLAY = '/admin/replay'

/** Bounded by examples: the file takes about 2.5 min on CI's two cores; API_FUZZ_EXAMPLES and API_FUZZ_SEED for a deeper run. */
const MAX_EXAMPLES = Number(process.env.API_FUZZ_EXAMPLES ?? 25)
const SEED = Number(process.env.API_FUZZ_SEED ?? 20261127)
/** The anonymous pass: few examples, every answer of a role route is the same 401. */
const ANONYMOUS_EXAMPLES = Math.min(MAX_EXAMPLES, 5)
/**
 * Per schemathesis run: 240 s at the default examples, growing with a deeper run's. The runs are bounded
 * by their examples; this only bounds a stuck one. Five run at once, beside other integration files: on
 * CI's two cores each role's run took 150-155 s once, when this limit was 150 s and killed one of them.
 */
const RUN_TIMEOUT_MS = Math.max(240_000, MAX_EXAMPLES * 8_000)
const CHECKS: SchemathesisCheck[] = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
]

let api: TestApi
/** Serves only the reset run: Neo4j unreachable, so no reset could clear the shared graph. */
let resetApi: TestApi
/** Serves only the anonymous pass (its own request metrics); Neo4j unreachable as well. */
let anonymousApi: TestApi
let admin: Admin
let guard: { consumer: Consumer; stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> } | undefined
const registry = new RegistryClient({ url: config.schemaRegistry.url })

function fuzz(
  target: TestApi,
  token: string | undefined,
  filter: Pick<SchemathesisOptions, 'includePaths' | 'excludePaths'>,
  checks: readonly SchemathesisCheck[] = CHECKS,
  maxExamples = MAX_EXAMPLES,
) {
  return runSchemathesis({
    schemaUrl: `${target.base}/docs/json`,
    ...(token === undefined ? {} : { bearerToken: token }),
    checks,
    // The stateful phase is left out: the document declares no links, so it would only repeat the
    // fuzzing phase's calls in random orders, for most of the time budget.
    phases: ['examples', 'coverage', 'fuzzing'],
    maxExamples,
    seed: SEED,
    timeoutMs: RUN_TIMEOUT_MS,
    ...filter,
  })
}

/** The live members of the application group (their ids). */
async function appMembers(): Promise<string[]> {
  const described = await admin.describeGroups({ groups: [processor.applicationId] })
  return [...(described.get(processor.applicationId)?.members.values() ?? [])].map((m) => m.id)
}

/** `http_request_duration_seconds` counts of one route (of one method, when given), by status. */
async function requestCounts(
  target: TestApi,
  endpoint: string,
  method?: string,
): Promise<Record<string, number>> {
  const metric = (await target.running.registry.getMetricsAsJSON()).find(
    (m) => m.name === 'http_request_duration_seconds',
  )
  const counts: Record<string, number> = {}
  for (const v of (metric?.values ?? []) as {
    metricName?: string
    labels: Record<string, string>
    value: number
  }[])
    if (
      v.metricName === 'http_request_duration_seconds_count' &&
      v.labels.endpoint === endpoint &&
      (method === undefined || v.labels.method === method)
    )
      counts[v.labels.status as string] = (counts[v.labels.status as string] ?? 0) + v.value
  return counts
}

beforeAll(async () => {
  // Fails first, with the install command, when schemathesis is missing.
  schemathesisBinary()
  admin = createAdmin(config.kafka, 'api-fuzz-test')
  await prepareProduceTargets(config, { topics, oldestEventTime: Date.now(), createTopics: true })
  // The reset routine reads the output schemas before it checks the groups: registered, the fuzzed
  // resets get as far as the live-member refusal.
  await registerSchemas(registry, outputSubjects(outputTopics))

  const consumer = createConsumer(config.kafka, processor.applicationId, { autocommit: false })
  const stream = await consumer.consume({ topics: [topics.system_events], mode: MessagesStreamModes.LATEST })
  guard = { consumer, stream }

  api = await TestApi.start(env, { processor, eventTopics: topics, redisPrefix })
  resetApi = await TestApi.start(
    { ...env, NEO4J_URI: 'bolt://127.0.0.1:1' },
    { processor, eventTopics: topics, redisPrefix, lag: false },
  )
  anonymousApi = await TestApi.start(
    { ...env, NEO4J_URI: 'bolt://127.0.0.1:1' },
    { processor, eventTopics: topics, redisPrefix, lag: false },
  )
}, 120_000)

afterAll(async () => {
  await api?.close()
  await resetApi?.close()
  await anonymousApi?.close()
  await guard?.stream.close().catch(() => {})
  await guard?.consumer.close(true).catch(() => {})
  if (admin) {
    const groups = [
      processor.applicationId,
      ...['neo4j', 'redis', 'archive'].map((s) => `${env.SINK_GROUP_PREFIX}-${s}`),
    ]
    await admin.deleteGroups({ groups }).catch(() => {})
    // The event topics, and any internal topic of this file's application.
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix))
    await admin.close()
    await deleteTestTopics(config, mine)
  }
  for (const topic of [...EVENT_FAMILIES.map((f) => topics[f]), ...Object.values(outputTopics)])
    await registry.deleteSubject(valueSubject(topic), true).catch(() => {})
  const redis = new Redis(config.redis.url)
  try {
    const keys = await keysUnder(redis, redisPrefix)
    if (keys.length > 0) await redis.del(...keys)
  } finally {
    redis.disconnect()
  }
})

describe('the API under schemathesis', () => {
  for (const role of ['viewer', 'operator', 'admin'] as const satisfies readonly Role[]) {
    it.concurrent(
      `as ${role}: no server error, and every answer declared by its route, of its content type and schema`,
      async ({ expect }) => {
        const token = await api.token(role)
        // The token works: a viewer route answers 200 with it.
        expect((await api.request('GET', '/topology', { token })).status).toBe(200)
        const result = await fuzz(api, token, { excludePaths: [RESET, REPLAY] })
        expect(result.exitCode, failureText(result)).toBe(0)
        // Every documented operation but the reset and the replay was fuzzed, with some cases each.
        expect(result.report?.operations.selected).toBe(api.routes.length - 2)
        expect(result.report?.operations.tested).toBe(api.routes.length - 2)
        expect(result.report?.test_cases.generated).toBeGreaterThan(api.routes.length)
      },
      RUN_TIMEOUT_MS + 20_000,
    )
  }

  it.concurrent(
    'as admin, POST /admin/reset and /admin/replay: refused (409) or rejected (400) while the application has a live member, never run',
    async ({ expect }) => {
      const before = await appMembers()
      expect(before).toHaveLength(1)
      const result = await fuzz(resetApi, await resetApi.token('admin'), { includePaths: [RESET, REPLAY] })
      expect(result.exitCode, failureText(result)).toBe(0)
      expect(result.report?.operations.selected).toBe(2)
      // The same member all along: no moment without one, when a reset could have run.
      expect(await appMembers()).toEqual(before)
      const counts = await requestCounts(resetApi, RESET)
      expect(counts['200']).toBeUndefined()
      expect(counts['409']).toBeGreaterThan(0)
      const replays = await requestCounts(resetApi, REPLAY)
      expect(replays['202']).toBeUndefined()
      expect(replays['409']).toBeGreaterThan(0)
    },
    RUN_TIMEOUT_MS + 20_000,
  )

  it.concurrent(
    'with no token: every route that needs a role answers 401 in the error shape, the public ones their declared answers',
    async ({ expect }) => {
      // ignored_auth: a 2xx from a route whose document declares a security scheme fails the run.
      const result = await fuzz(
        anonymousApi,
        undefined,
        { excludePaths: ['/ready'] },
        [...CHECKS, 'ignored_auth'],
        ANONYMOUS_EXAMPLES,
      )
      expect(result.exitCode, failureText(result)).toBe(0)
      expect(result.report?.operations.tested).toBe(anonymousApi.routes.length - 1)
      // Its declared 503 in the error shape, naming the dependency down (the schema checked by request()).
      const ready = await anonymousApi.request('GET', '/ready')
      expect(ready.status).toBe(503)
      expect(ready.body.dependencies.neo4j).toMatch(/^down: /)
      const routes = anonymousApi.running.app.routeAccess.filter((r) => !r.url.startsWith('/docs'))
      const guarded = routes.filter((r) => r.access !== 'public')
      expect(guarded.length).toBeGreaterThan(0)
      // Only 401 on each of them, however malformed its parameters and body: the token is checked first.
      const answers = Object.fromEntries(
        await Promise.all(
          guarded.map(
            async (r) =>
              [`${r.method} ${r.url}`, await requestCounts(anonymousApi, r.url, r.method)] as const,
          ),
        ),
      )
      for (const [route, counts] of Object.entries(answers)) {
        expect(Object.keys(counts), `${route} answered ${JSON.stringify(counts)} with no token`).toEqual([
          '401',
        ])
        expect(counts['401']).toBeGreaterThan(0)
      }
    },
    RUN_TIMEOUT_MS + 20_000,
  )
})
