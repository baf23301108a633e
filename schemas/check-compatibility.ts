// CI's offline schema check: `npx tsx schemas/check-compatibility.ts` exits 1 and lists the problems
// when a schema change would not be backward compatible (see compatibility/check-compatibility.ts).
import { fileURLToPath } from 'node:url'
import { checkCompatibility } from './compatibility/check-compatibility.js'
import { loadSchemaCatalog } from './schema-catalog.js'

function main(): number {
  const problems = checkCompatibility(loadSchemaCatalog())
  for (const p of problems) process.stderr.write(`${p.family}: ${p.file}: ${p.problem}\n`)
  if (problems.length === 0) process.stdout.write('schemas: every version reads every earlier one\n')
  return problems.length === 0 ? 0 : 1
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main()
