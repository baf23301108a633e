// The contract between the stack orchestration (stack.ts) and one service module in services/:
// what a service needs installed, how it is launched, and how to tell it is really ready.

import type { StackLayout } from './layout.js'
import type { ServiceName, StackEnvironment, StackPorts } from './types.js'

export interface ServiceContext {
  readonly layout: StackLayout
  readonly ports: StackPorts
  readonly log: (line: string) => void
}

export interface LaunchSpec {
  command: string
  args: string[]
  env?: Record<string, string>
}

export interface ServiceDefinition {
  readonly name: ServiceName
  /** Every port the process binds (checked for conflicts before starting); the first is the client port. */
  readonly portKeys: readonly [keyof StackPorts, ...(keyof StackPorts)[]]
  /** Milliseconds to wait for readiness after spawn (on a 2-core box with everything starting). */
  readonly startTimeoutMs: number
  /** Milliseconds between SIGTERM and SIGKILL on stop. */
  readonly stopTimeoutMs: number
  /**
   * Checks tools (Java, Maven...) and downloads what is missing; writes config files and
   * one-time data setup (Kafka storage format). Must be idempotent and quick when done before.
   */
  prepare(ctx: ServiceContext): Promise<LaunchSpec>
  /** One real protocol round trip; false (never throws) when not ready. */
  probe(ports: StackPorts): Promise<boolean>
  /** Connection settings for stack.env. */
  env(ports: StackPorts): StackEnvironment
}
