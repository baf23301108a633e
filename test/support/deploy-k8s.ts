// The Kubernetes manifests of deploy/k8s as the deploy tests read them: every YAML document of every
// file (the secret template included), looked up by kind and name, and each instantiated as the
// kubernetes-models class of its apiVersion and kind, whose validate() checks it against the
// Kubernetes OpenAPI schema.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

export const K8S_DIR = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url))

export type Manifest = {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string }
  // biome-ignore lint/suspicious/noExplicitAny: manifests are YAML that tests read field by field
  [k: string]: any
}

export interface ManifestDoc {
  /** Relative to deploy/k8s. */
  readonly file: string
  readonly doc: Manifest
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return yamlFiles(path)
    return /\.ya?ml$/.test(entry.name) ? [path] : []
  })
}

export function loadManifests(dir = K8S_DIR): ManifestDoc[] {
  return yamlFiles(dir).flatMap((path) => {
    const file = relative(dir, path)
    return parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`)
      return { file, doc: document.toJS() as Manifest }
    })
  })
}

/** The kubernetes-models module of an apiVersion: `v1` -> kubernetes-models/v1, `apps/v1` -> .../apps/v1. */
export async function modelClass(
  apiVersion: string,
  kind: string,
): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  const module = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, unknown>
  return module[kind] as (new (data: unknown) => { validate(): void }) | undefined
}

export function find(docs: readonly ManifestDoc[], kind: string, name: string): Manifest {
  const found = docs.find((d) => d.doc.kind === kind && d.doc.metadata.name === name)
  if (found === undefined) throw new Error(`no ${kind} ${name} in deploy/k8s`)
  return found.doc
}

/** Pod specs of the workloads (Deployment, StatefulSet, CronJob), by kind/name. */
// biome-ignore lint/suspicious/noExplicitAny: see Manifest
export function podSpecs(docs: readonly ManifestDoc[]): { workload: Manifest; pod: any }[] {
  return docs.flatMap(({ doc }) => {
    if (doc.kind === 'Deployment' || doc.kind === 'StatefulSet')
      return [{ workload: doc, pod: doc.spec.template }]
    if (doc.kind === 'CronJob') return [{ workload: doc, pod: doc.spec.jobTemplate.spec.template }]
    return []
  })
}
