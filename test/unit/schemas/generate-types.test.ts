import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { GENERATED_TYPES_FILE } from '../../../schemas/generate-types.js'
import { loadSchemaCatalog } from '../../../schemas/schema-catalog.js'
import { renderTypes } from '../../../schemas/typegen/render-types.js'

describe('schemas/generated/types.ts', () => {
  it('is what the generator writes from the current .avsc files (run npx tsx schemas/generate-types.ts)', () => {
    expect(readFileSync(GENERATED_TYPES_FILE, 'utf8')).toBe(renderTypes(loadSchemaCatalog()))
  })

  it('says it is generated', () => {
    expect(readFileSync(GENERATED_TYPES_FILE, 'utf8').split('\n')[0]).toMatch(/generated, do not edit/)
  })
})
