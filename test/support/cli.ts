// Runs the `agent-party` command as a user would, in a child process (from the sources, through
// tsx), and returns its exit code and output; or in the test's own process (no start-up), with its
// output captured.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, vi } from 'vitest'
import { run } from '../../cli/main.js'

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

const main = fileURLToPath(new URL('../../cli/main.ts', import.meta.url))

/** `input`: written to the command's standard input, which is then closed (default: none). */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 180_000,
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      env: { ...process.env, ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    child.stdin?.end(input)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr?.on('data', (chunk) => {
      stderr += chunk
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`agent-party ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** A long-running command (`run all`, `demo`) in a child process, its output collected as it comes. */
export class RunningCli {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  /** Both, in the order written. */
  output = ''
  readonly exited: Promise<number | null>

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout?.on('data', (chunk) => {
      this.stdout += chunk
      this.output += chunk
    })
    child.stderr?.on('data', (chunk) => {
      this.stderr += chunk
      this.output += chunk
    })
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    this.child = child
  }

  /** Its exit code, or a message saying it still runs `ms` after `after` (a signal sent). */
  exitWithin(ms: number, after: string): Promise<number | null | string> {
    return Promise.race([
      this.exited,
      new Promise<string>((resolve) =>
        setTimeout(() => resolve(`still running ${ms / 1000} s after ${after}`), ms),
      ),
    ])
  }

  /** Kills it (SIGKILL) if it still runs, and waits for it: what an afterAll does. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGKILL')
    await this.exited
  }
}

/** Hands what is written to stdout and stderr to the callbacks instead, until `vi.restoreAllMocks()`. */
export function captureOutput(onOut: (text: string) => void, onErr: (text: string) => void): void {
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    onOut(String(chunk))
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    onErr(String(chunk))
    return true
  })
}

/**
 * What each test of the file writes to stdout and stderr, captured from a beforeEach; mocks and stubbed
 * variables are restored after each test.
 */
export function captureOutputPerTest(): { out: string; err: string } {
  const io = { out: '', err: '' }
  beforeEach(() => {
    io.out = ''
    io.err = ''
    captureOutput(
      (text) => {
        io.out += text
      },
      (text) => {
        io.err += text
      },
    )
  })
  afterEach(() => {
    vi.restoreAllMocks()
    vi.unstubAllEnvs()
  })
  return io
}

/** The command in this process, with `env` over the environment: its exit code and output. */
export async function runInProcess(args: string[], env: Record<string, string>): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value)
  captureOutput(
    (text) => {
      stdout += text
    },
    (text) => {
      stderr += text
    },
  )
  try {
    const code = await run(args)
    return { code, stdout, stderr }
  } finally {
    vi.restoreAllMocks()
    vi.unstubAllEnvs()
  }
}
