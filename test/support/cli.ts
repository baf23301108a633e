// Runs the `agent-party` command as a user would, in a child process (from the sources, through
// tsx), and returns its exit code and output.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

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
