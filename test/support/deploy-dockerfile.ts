// A small Dockerfile reader for the deploy tests (Docker itself cannot run here): instructions with
// line continuations joined and comments dropped, exec-form arguments parsed as JSON, stages split at
// each FROM with global ARG defaults substituted, as the Dockerfile reference describes them.

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ... */
  readonly keyword: string
  /** The rest of the line, continuations joined. */
  readonly args: string
  /** Exec form (`["a", "b"]`) parsed, when the arguments are a JSON array of strings. */
  readonly exec?: readonly string[]
  readonly line: number
}

export interface Stage {
  /** The image after ARG substitution. */
  readonly image: string
  readonly name?: string
  readonly instructions: readonly Instruction[]
}

export interface Dockerfile {
  readonly instructions: readonly Instruction[]
  readonly stages: readonly Stage[]
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = []
  let pending = ''
  let start = 0
  const lines = text.split('\n')
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '')
    if (pending === '' && /^\s*(#|$)/.test(line)) return // comments, parser directives, blank lines
    if (pending !== '' && /^\s*#/.test(line)) return // comment lines inside a continuation
    if (pending === '') start = index + 1
    if (/\\\s*$/.test(line)) {
      pending += `${line.replace(/\\\s*$/, '')} `
      return
    }
    const full = (pending + line).trim()
    pending = ''
    const match = /^(\S+)\s*(.*)$/s.exec(full)
    if (match === null) return
    const keyword = (match[1] as string).toUpperCase()
    const args = (match[2] as string).trim()
    instructions.push({ keyword, args, line: start, ...execForm(args) })
  })
  if (pending !== '') throw new Error(`Dockerfile ends inside a line continuation (line ${start})`)

  const globals = new Map<string, string>()
  const stages: { image: string; name?: string; instructions: Instruction[] }[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'))
      const resolved = image.replace(/\$\{?(\w+)\}?/g, (_, arg: string) => globals.get(arg) ?? '')
      stages.push({
        image: resolved,
        ...(as?.toUpperCase() === 'AS' && name ? { name } : {}),
        instructions: [],
      })
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`${instruction.keyword} before the first FROM`)
      const [key, value = ''] = instruction.args.split('=', 2)
      globals.set((key as string).trim(), value.trim())
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return { instructions, stages }
}

function execForm(args: string): { exec?: string[] } {
  // HEALTHCHECK's options precede its CMD; the exec form is what follows CMD.
  const json = args.replace(/^(--\S+\s+)*CMD\s+/, '')
  if (!json.startsWith('[')) return {}
  try {
    const parsed: unknown = JSON.parse(json)
    if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return { exec: parsed }
  } catch {
    // shell form that happens to start with [
  }
  return {}
}

/** A COPY's sources, destination and --from stage. */
export function copyOf(instruction: Instruction): { from?: string; sources: string[]; destination: string } {
  const words = instruction.exec ?? instruction.args.split(/\s+/)
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length)
  const paths = words.filter((w) => !w.startsWith('--'))
  return { ...(from ? { from } : {}), sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' }
}

/** The last value of an instruction in a stage (USER, WORKDIR, ENTRYPOINT, ...), or undefined. */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1)
}
