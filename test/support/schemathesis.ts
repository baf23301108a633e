// Runs the schemathesis CLI (PyPI, pinned; .ci/run installs it into .venv-fuzz/) against an API of
// 127.0.0.1, and gives back its exit code, its printed report and the figures of its JSON report,
// so a test fails with schemathesis's own account of each failure (route, input as a curl line,
// answer). Only 127.0.0.1 URLs are accepted, proxies are dropped from its environment, and a run is
// bounded in examples and killed at a hard time limit.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The version .ci/run installs (`schemathesis==...`); the flags below are this version's. */
export const SCHEMATHESIS_VERSION = '4.32.5'

/** Where .ci/run installs it; SCHEMATHESIS_BIN names another `st` of the same version. */
export const VENV_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../.venv-fuzz')

export const INSTALL_HINT = `python3 -m venv .venv-fuzz && .venv-fuzz/bin/pip install schemathesis==${SCHEMATHESIS_VERSION} (as .ci/run does)`

export type SchemathesisCheck =
  | 'not_a_server_error'
  | 'status_code_conformance'
  | 'content_type_conformance'
  | 'response_headers_conformance'
  | 'response_schema_conformance'
  | 'negative_data_rejection'
  | 'positive_data_acceptance'
  /** A 2xx from an operation that declares a security scheme, without (or with a made-up) token. */
  | 'ignored_auth'

export type SchemathesisPhase = 'examples' | 'coverage' | 'fuzzing' | 'stateful'

export interface SchemathesisOptions {
  /** The OpenAPI document's URL, on 127.0.0.1 (nothing else is accepted). */
  readonly schemaUrl: string
  /** Sent as `Authorization: Bearer <token>` on every request. */
  readonly bearerToken?: string
  readonly checks: readonly SchemathesisCheck[]
  readonly phases: readonly SchemathesisPhase[]
  /** Test cases per operation and phase (`--max-examples`). */
  readonly maxExamples: number
  readonly seed: number
  /** Operations by exact path (`--include-path`); schemathesis ORs include filters of different kinds. */
  readonly includePaths?: readonly string[]
  /** `--exclude-path`. */
  readonly excludePaths?: readonly string[]
  /** The whole run is killed after this (SIGKILL), and the result says so. */
  readonly timeoutMs: number
  /** Per request (`--request-timeout`). Default 10 s. */
  readonly requestTimeoutS?: number
}

export interface SchemathesisResult {
  /** The CLI's exit code (0: no failure), or null when it was killed. */
  readonly exitCode: number | null
  readonly timedOut: boolean
  /** What it printed, stdout then stderr: the failures with a curl line each, the summary. */
  readonly output: string
  /** From its JSON report; undefined when it wrote none (it did not get that far). */
  readonly report?: SchemathesisReport
}

/** The part of the JSON report (`--report json`) the tests read. */
export interface SchemathesisReport {
  readonly seed: number
  readonly exit_code: number
  readonly operations: {
    readonly total: number
    readonly selected: number
    readonly tested: number
    readonly errored: number
  }
  readonly test_cases: {
    readonly generated: number
    readonly with_failures: number
    readonly errored: number
  }
  readonly failures: readonly {
    readonly code: string
    readonly title: string
    readonly operations: readonly string[]
  }[]
  readonly errors: readonly unknown[]
}

/** The `st` binary, checked to be the pinned version; throws with the install command otherwise. */
export function schemathesisBinary(): string {
  const bin = process.env.SCHEMATHESIS_BIN ?? join(VENV_DIR, 'bin', 'st')
  if (!existsSync(bin)) throw new Error(`schemathesis is not installed at ${bin}: ${INSTALL_HINT}`)
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 })
  const found = `${version.stdout ?? ''}${version.stderr ?? ''}`.trim()
  if (!found.includes(`version ${SCHEMATHESIS_VERSION}`))
    throw new Error(
      `${bin} is not schemathesis ${SCHEMATHESIS_VERSION} (it says '${found}'): ${INSTALL_HINT}`,
    )
  return bin
}

/** The command line for `options`, report files under `reportDir`. */
export function schemathesisArgs(options: SchemathesisOptions, reportDir: string): string[] {
  const url = new URL(options.schemaUrl)
  if (url.hostname !== '127.0.0.1')
    throw new Error(`schemathesis runs only against 127.0.0.1, not ${url.hostname}`)
  return [
    'run',
    options.schemaUrl,
    // The document has no `servers`: requests go to the document's own origin, pinned here too.
    '--url',
    url.origin,
    ...(options.bearerToken ? ['--header', `Authorization: Bearer ${options.bearerToken}`] : []),
    '--checks',
    options.checks.join(','),
    '--phases',
    options.phases.join(','),
    '--max-examples',
    String(options.maxExamples),
    '--seed',
    String(options.seed),
    ...(options.includePaths ?? []).flatMap((p) => ['--include-path', p]),
    ...(options.excludePaths ?? []).flatMap((p) => ['--exclude-path', p]),
    '--request-timeout',
    String(options.requestTimeoutS ?? 10),
    '--max-redirects',
    '0',
    // Nothing kept between runs (no example database in the working directory).
    '--generation-database',
    'none',
    // Test secrets only; the report must show the fields whose names contain "token" (tokens_used).
    '--output-sanitize',
    'false',
    '--no-color',
    '--report',
    'json',
    '--report-dir',
    reportDir,
  ]
}

export async function runSchemathesis(options: SchemathesisOptions): Promise<SchemathesisResult> {
  const bin = schemathesisBinary()
  const dir = mkdtempSync(join(tmpdir(), 'schemathesis-'))
  try {
    const args = schemathesisArgs(options, join(dir, 'report'))
    const { exitCode, timedOut, output } = await run(bin, args, dir, options.timeoutMs)
    const report = readReport(join(dir, 'report'))
    return { exitCode, timedOut, output, ...(report ? { report } : {}) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The printed failures section (what a failing test shows), or the whole output when there is none. */
export function failureText(result: SchemathesisResult, max = 20_000): string {
  const start = result.output.indexOf('= FAILURES =')
  const text = start >= 0 ? result.output.slice(result.output.lastIndexOf('\n', start) + 1) : result.output
  const head =
    (result.timedOut ? 'schemathesis was killed at its time limit\n' : '') +
    'Reproduce each failure with its curl line (the `st replay` lines need a cassette these runs do not keep).\n'
  return (
    head + (text.length > max ? `${text.slice(0, max)}\n[... ${text.length - max} more characters]` : text)
  )
}

function run(
  bin: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ exitCode: number | null; timedOut: boolean; output: string }> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(https?|all|no)_proxy$/i.test(k) && !k.startsWith('SCHEMATHESIS_')) env[k] = v
  env.NO_COLOR = '1'
  env.PYTHONIOENCODING = 'utf-8'
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      const output = Buffer.concat(out).toString('utf8') + Buffer.concat(err).toString('utf8')
      resolvePromise({ exitCode: timedOut ? null : code, timedOut, output })
    })
  })
}

// A run killed at its time limit can leave the report empty or cut short: then there is none, and the
// test fails on the exit code with failureText's "killed at its time limit", not on a JSON error.
function readReport(dir: string): SchemathesisReport | undefined {
  if (!existsSync(dir)) return undefined
  const file = readdirSync(dir).find((f) => f.startsWith('json') && f.endsWith('.json'))
  if (file === undefined) return undefined
  try {
    return JSON.parse(readFileSync(join(dir, file), 'utf8')) as SchemathesisReport
  } catch {
    return undefined
  }
}
