// Finds the local stack that `agent-party stack up` started, through the env file it writes, and
// gives tests its configuration and per-file names. globalSetup fails fast, with the fix, when
// no stack is up, instead of letting every test time out.
import { existsSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { type Config, loadConfig } from '../../config/config.js'
import { readStackEnv } from '../../deploy/local/stack.js'

export function stackDir(): string {
  return resolve(process.env.AGENT_PARTY_STACK_DIR ?? '.stack')
}

export function stackEnvFile(): string {
  return resolve(stackDir(), 'stack.env')
}

export function stackEnv(): Record<string, string> {
  const env = readStackEnv(stackEnvFile())
  if (!env) throw new Error(`Cannot read ${stackEnvFile()}: start the stack with \`npm run stack -- up\``)
  return env
}

/** The configuration of the running local stack (its addresses win over the shell's). */
export function stackConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, ...stackEnv(), ...overrides })
}

/**
 * A prefix for the topics, groups and keys of one test file, unique per run, so that files run in
 * parallel and reruns against the same broker never see each other's data.
 */
export function testPrefix(fileUrl: string): string {
  const file = basename(new URL(fileUrl).pathname).replace(/\.test\.ts$/, '')
  return `t-${file}-${Date.now().toString(36)}-${process.pid}`
}

export default function setup(): void {
  if (!existsSync(stackEnvFile())) {
    throw new Error(
      `No local stack found (${stackEnvFile()} is missing). Start it with \`npm run stack -- up\`, ` +
        'or set AGENT_PARTY_STACK_DIR to the folder of a running stack.',
    )
  }
}
