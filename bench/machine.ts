// What every benchmark prints beside its result: the machine is shared, so its load matters.
import { cpus, loadavg, totalmem } from 'node:os'

/** The machine and its load, to print beside every result (the machine is shared). */
export function machineLoad(): string {
  return `machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`
}
