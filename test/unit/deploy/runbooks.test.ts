// The runbooks (deploy/runbooks): each alert's runbook_url names a page of this repository, each page
// is some alert's, says what the alert means, what to check and what to do, and its links lead
// somewhere; the index lists every alert.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const DIR = join(ROOT, 'deploy/runbooks')
const rules = (
  parse(readFileSync(join(ROOT, 'deploy/prometheus/rules/agent-party.yml'), 'utf8')) as {
    groups: { rules: { alert: string; annotations: { runbook_url: string } }[] }[]
  }
).groups.flatMap((g) => g.rules)
const pages = readdirSync(DIR).filter((f) => f.endsWith('.md') && f !== 'README.md')

describe('deploy/runbooks', () => {
  it.each(rules.map((r) => [r.alert, r.annotations.runbook_url]))(
    '%s links to a page that exists: %s',
    (alert, url) => {
      const file = join(ROOT, url)
      expect(existsSync(file), `${alert}: ${url}`).toBe(true)
      expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(`# ${alert}`)
    },
  )

  it('has a page for each alert and no other', () => {
    expect(pages.map((p) => `deploy/runbooks/${p}`).sort()).toEqual(
      rules.map((r) => r.annotations.runbook_url).sort(),
    )
  })

  it.each(pages)('%s says when it fires, what it means, what to check and what to do', (page) => {
    const text = readFileSync(join(DIR, page), 'utf8')
    expect(text).toMatch(/^\*\*Fires when\*\*/m)
    for (const heading of ['## What it means', '## What to check', '## What to do'])
      expect(text).toContain(heading)
  })

  it('has links that resolve, and an index of every alert', () => {
    for (const page of [...pages, 'README.md']) {
      const text = readFileSync(join(DIR, page), 'utf8')
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^https?:/.test(target as string)) continue
        expect(existsSync(resolve(dirname(join(DIR, page)), target as string)), `${page} -> ${target}`).toBe(
          true,
        )
      }
    }
    const index = readFileSync(join(DIR, 'README.md'), 'utf8')
    for (const rule of rules) expect(index).toContain(`| ${rule.alert} |`)
  })
})
