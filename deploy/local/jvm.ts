// JVM flags shared by the Java services. Five JVMs share two cores here, so every one has a
// capped heap, dies on OOM instead of thrashing, and carries a -D marker naming the stack so
// `ps` shows which stack a JVM belongs to.

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

export interface JvmTuning {
  heap: string
  /**
   * Serial GC: fewest GC threads. Measured: it does not lower RSS (s3proxy 128 MB vs 100 MB
   * with G1, registry 257 vs 210 MB), so it is only used where start time was as good or better.
   */
  serialGc?: boolean
  /** C1 only: measured ~1-3 s faster start for Quarkus/Jetty apps that are never hot (not Kafka). */
  c1Only?: boolean
}

export function jvmFlags(stackRoot: string, tuning: JvmTuning): string[] {
  const flags = [
    `-Xmx${tuning.heap}`,
    '-XX:+ExitOnOutOfMemoryError',
    // No hsperfdata mmap file in /tmp per JVM.
    '-XX:-UsePerfData',
    '-Djava.awt.headless=true',
    `-Dagentparty.stack=${stackRoot}`,
  ]
  if (tuning.serialGc) flags.push('-XX:+UseSerialGC')
  if (tuning.c1Only) flags.push('-XX:TieredStopAtLevel=1')
  return flags
}

export function fileHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}
