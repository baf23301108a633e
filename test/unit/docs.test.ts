// Keeps the README in step with the code it documents: every environment variable, every exit
// code, the test command CI runs.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { EXIT } from '../../cli/exit-codes.js'
import { variables } from '../../config/env.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('README', () => {
  it('documents every environment variable with its default', () => {
    for (const [name, spec] of Object.entries(variables)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`))
      expect(row, name).toBeDefined()
      if (spec.default !== '') expect(row, name).toContain(`\`${spec.default}\``)
    }
  })

  it('documents every exit code', () => {
    for (const code of Object.values(EXIT)) expect(readme).toMatch(new RegExp(`^\\| ${code} \\| `, 'm'))
  })

  it('gives the test command that CI runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8')
    expect(readme).toContain('`npm test` is the test command')
    expect(ci).toMatch(/^npm test( |$)/m)
  })
})

describe('README topology example', () => {
  it('is the code that test/unit/topology/readme-example.test.ts runs', () => {
    const test = readFileSync(new URL('./topology/readme-example.test.ts', import.meta.url), 'utf8')
    const start = test.indexOf('// --- README example start\n') + '// --- README example start\n'.length
    const end = test.indexOf('  // --- README example end')
    const example = test
      .slice(start, end)
      .split('\n')
      .map((line) => line.slice(2))
      .join('\n')
    expect(example.length).toBeGreaterThan(100)
    expect(readme).toContain(example)
  })
})
