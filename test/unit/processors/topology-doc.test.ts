// processors/TOPOLOGY.md shows the topology the code builds: regenerate it with
// `npx tsx processors/describe.ts` when this fails.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { TOPOLOGY_DOC, topologyDocument } from '../../../processors/describe.js'

it('processors/TOPOLOGY.md matches the topology the code builds', () => {
  expect(readFileSync(TOPOLOGY_DOC, 'utf8')).toBe(topologyDocument())
})
