// One instance of an application as a child process (a real process, so that SIGKILL is a real
// crash): the token-windows application by default, or any script (the CLI) with its arguments;
// started with its environment, its stdout and stderr lines kept, killed or stopped on demand.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const APP = fileURLToPath(new URL('./token-windows-app.ts', import.meta.url))

export class StreamsProcess {
  readonly child: ChildProcess
  readonly lines: string[] = []
  readonly exited: Promise<number | null>

  constructor(env: Record<string, string>, script = APP, args: readonly string[] = []) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let buffer = ''
    const onData = (chunk: string) => {
      buffer += chunk
      const parts = buffer.split('\n')
      buffer = parts.pop() ?? ''
      this.lines.push(...parts)
    }
    this.child.stdout?.setEncoding('utf8').on('data', onData)
    this.child.stderr?.setEncoding('utf8').on('data', onData)
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null)
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** The tasks the instance last reported running. */
  tasks(): string[] {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const line = this.lines[i] as string
      if (line.startsWith('tasks ')) return JSON.parse(line.slice(6)) as string[]
    }
    return []
  }

  async waitForLine(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.lines.some((l) => pattern.test(l))) {
      if (!this.running)
        throw new Error(`instance exited before ${pattern}:\n${this.lines.slice(-20).join('\n')}`)
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${pattern}:\n${this.lines.slice(-20).join('\n')}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.running) this.child.kill(signal)
    return this.exited
  }
}
