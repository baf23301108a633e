// Writes schemas/generated/types.ts from the current .avsc files: `npx tsx schemas/generate-types.ts`.
// With --check it writes nothing and exits 1 when the committed file differs (for CI).
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadSchemaCatalog } from './schema-catalog.js'
import { renderTypes } from './typegen/render-types.js'

export const GENERATED_TYPES_FILE = fileURLToPath(new URL('./generated/types.ts', import.meta.url))

function main(argv: string[]): number {
  const text = renderTypes(loadSchemaCatalog())
  if (argv.includes('--check')) {
    const committed = readFileSync(GENERATED_TYPES_FILE, 'utf8')
    if (committed === text) return 0
    process.stderr.write(`${GENERATED_TYPES_FILE} is stale: run npx tsx schemas/generate-types.ts\n`)
    return 1
  }
  writeFileSync(GENERATED_TYPES_FILE, text)
  process.stdout.write(`wrote ${GENERATED_TYPES_FILE}\n`)
  return 0
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = main(process.argv.slice(2))
