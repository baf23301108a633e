// `agent-party demo` (`npm run demo`): the whole system on one machine with one command. The steps are
// in ops/demo.ts; this file hands them what only the CLI may import (the roles in one process, the
// token service), draws the progress bar and prints the URLs and example queries, then waits for
// Ctrl-C or SIGTERM and stops what the demo started.
import type { Command } from 'commander'
import { TokenService } from '../../api/auth/tokens.js'
import { DemoAbortedError, type RunningDemo, runDemo } from '../../ops/demo.js'
import { positive, wholeNumber } from '../arguments.js'
import { progressReporter } from '../progress.js'
import { startAll } from './run.js'

interface DemoFlags {
  stack: boolean
  events: number
  rate: number
  seed?: string
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'See the whole system work: bring the local stack up (or use the one already up), provision it, run ' +
        "the processor, the sinks and the API in this process (API_PORT, default 8000; the roles' /metrics " +
        'on METRICS_PORT, default 9464), produce sample traffic with a progress bar, wait until it is ' +
        'applied, and print the API docs page, /ready, /metrics and example queries with a token. Runs ' +
        'until Ctrl-C or SIGTERM, then stops the pipeline, and the stack services only if the demo ' +
        'started them (a stack that was already up keeps running)',
    )
    .option('--no-stack', 'do not start the local stack: use the configured services as they are')
    .option('-n, --events <n>', 'sample events to produce', wholeNumber, 3000)
    .option('-r, --rate <events/s>', 'events per second (event time and write pace)', positive, 1000)
    .option(
      '--seed <seed>',
      "the generator's seed (default: a new one per run, so each run adds new entities)",
    )
    .action(async (flags: DemoFlags) => {
      const controller = new AbortController()
      // `on`, not `once`: Ctrl-C reaches npm and node both, and npm passes it on, so a second SIGINT
      // comes while stopping and must not kill the process halfway.
      const stop = () => {
        if (controller.signal.aborted) return
        process.stderr.write('\nstopping...\n')
        controller.abort()
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
      try {
        await demo(flags, controller.signal)
      } finally {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      }
    })
}

async function demo(flags: DemoFlags, signal: AbortSignal): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`)
  const progress = progressReporter()
  const seed =
    flags.seed === undefined ? Date.now() : /^-?\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed
  let running: RunningDemo
  try {
    running = await runDemo(
      {
        stack: flags.stack,
        events: flags.events,
        rate: flags.rate,
        seed,
        signal,
        log,
        onProgress: (p) =>
          progress.update(
            { done: p.written, total: p.total, elapsedMs: p.elapsedMs, unit: 'events' },
            p.done,
          ),
      },
      {
        startPipeline: async (config) => {
          const all = await startAll(config)
          return { apiPort: all.api.port, metricsPort: all.metricsPort, failed: all.failed, close: all.close }
        },
        issueToken: async (config, ttlSeconds) => {
          const tokens = await TokenService.create({ ...config.api.jwt, ttlSeconds })
          return (await tokens.issue('demo', 'viewer')).access_token
        },
      },
    )
  } catch (error) {
    if (!(error instanceof DemoAbortedError)) throw error
    log('stopped')
    return
  }
  printReady(running)
  const stopped = new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    signal.addEventListener('abort', () => resolve(), { once: true })
  })
  const outcome = await Promise.race([
    stopped.then(() => undefined),
    running.failed.catch((error: unknown) => ({ error })),
  ])
  await running.close()
  if (outcome !== undefined) throw outcome.error
  log('stopped')
}

function printReady(demo: RunningDemo): void {
  const stackLine =
    demo.stack.mode === 'started'
      ? `the demo started ${demo.stack.started.join(', ')} and stops them on exit`
      : demo.stack.mode === 'already-up'
        ? 'it was already up and keeps running after the demo'
        : 'not used (--no-stack): the configured services'
  const hours = Math.round(demo.tokenTtlSeconds / 3600)
  const lines = [
    '',
    `Ready: ${demo.written} sample events produced${demo.applied ? ' and applied' : ''}; the pipeline runs in this process.`,
    '',
    `  API docs       ${demo.apiUrl}/docs`,
    `  API ready      ${demo.apiUrl}/ready`,
    `  API metrics    ${demo.apiUrl}/metrics   (HTTP, consumer lag, business gauges)`,
    `  roles metrics  ${demo.metricsUrl}/metrics   (processor and sinks; also /ready and /health)`,
    `  local stack    ${stackLine}`,
    '',
    `Example queries (a viewer token, valid ${hours} h):`,
    '',
    `  export TOKEN=${demo.token}`,
    '',
    ...demo.examples.flatMap((e) => [
      `  # ${e.title}`,
      `  curl -s -H "Authorization: Bearer $TOKEN" '${e.url}'`,
    ]),
    '',
    'Press Ctrl-C to stop.',
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}
