// The offline compatibility check, for CI without a registry: what a registry set to
// BACKWARD_TRANSITIVE would refuse, decided with avsc's resolution. For each family: the current
// schema is recorded as the newest version of history/ (so every published writer is kept); every
// version can read every earlier one (the newest reads all of them); every enum has a default (so
// a symbol added later reads as the default in old readers instead of failing).
import type { Type, types } from 'avsc'
import { EVENT_FAMILIES, type EventFamily, eventFamilies } from '../event-families.js'
import type { FamilySchemas, SchemaCatalog } from '../schema-catalog.js'

export interface CompatibilityProblem {
  family: EventFamily
  file: string
  problem: string
}

export function checkCompatibility(catalog: SchemaCatalog): CompatibilityProblem[] {
  return EVENT_FAMILIES.flatMap((family) => checkFamily(catalog[family]))
}

export function checkFamily(schemas: FamilySchemas): CompatibilityProblem[] {
  const { family, current, history } = schemas
  const problems: CompatibilityProblem[] = []
  const newest = history.at(-1)
  if (!newest || newest.text !== current.text) {
    const next = (newest?.version ?? 0) + 1
    problems.push({
      family,
      file: current.file,
      problem: `the current schema is not the newest version of history/: copy it to history/${eventFamilies[family].schemaFile}.v${next}.avsc`,
    })
  }
  const versions = newest && newest.text === current.text ? history : [...history, current]
  for (const [i, reader] of versions.entries()) {
    for (const writer of versions.slice(0, i)) {
      const reason = cannotRead(reader.type, writer.type)
      if (reason !== undefined) {
        problems.push({
          family,
          file: reader.file,
          problem: `cannot read data written with version ${writer.version ?? 'current'} (${writer.file}): ${reason}`,
        })
      }
    }
  }
  for (const name of enumsWithoutDefault(current.type)) {
    problems.push({
      family,
      file: current.file,
      problem: `enum ${name} has no default: old readers would fail on a new symbol`,
    })
  }
  return problems
}

/** Why `reader` cannot resolve `writer`, or undefined when it can. */
export function cannotRead(reader: Type, writer: Type): string | undefined {
  try {
    reader.createResolver(writer)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

function enumsWithoutDefault(root: Type): string[] {
  const found = new Set<string>()
  const seen = new Set<Type>()
  const visit = (type: Type): void => {
    if (seen.has(type)) return
    seen.add(type)
    switch (type.typeName) {
      case 'enum':
        if ((type as types.EnumType & { default?: string }).default === undefined)
          found.add(type.name as string)
        return
      case 'record':
        for (const field of (type as types.RecordType).fields) visit(field.type)
        return
      case 'array':
        visit((type as types.ArrayType).itemsType)
        return
      case 'map':
        visit((type as types.MapType).valuesType as Type)
        return
      case 'union:wrapped':
      case 'union:unwrapped':
        for (const branch of (type as types.WrappedUnionType).types) visit(branch)
        return
      default:
        return
    }
  }
  visit(root)
  return [...found]
}
