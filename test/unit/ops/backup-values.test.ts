// The typed JSON form of Neo4j property values in graph backups: every type round-trips to the same
// Cypher type and value, JSON numbers are Floats and tagged objects everything else.
import neo4j from 'neo4j-driver'
import { describe, expect, it } from 'vitest'
import {
  BackupValueError,
  decodeProperties,
  decodeValue,
  encodeProperties,
  encodeValue,
} from '../../../ops/backup-values.js'

/** Through JSON text, as a backup line does. */
const roundTrip = (value: unknown) => decodeValue(JSON.parse(JSON.stringify(encodeValue(value))))

describe('encodeValue', () => {
  it('keeps strings, booleans and finite floats as JSON, tags Integers', () => {
    expect(encodeValue('a "b"')).toBe('a "b"')
    expect(encodeValue(false)).toBe(false)
    expect(encodeValue(1.5)).toBe(1.5)
    expect(encodeValue(neo4j.int('9007199254740993'))).toEqual({ i: '9007199254740993' })
    expect(encodeValue(10n)).toEqual({ i: '10' })
  })

  it('tags the floats JSON cannot carry', () => {
    expect(encodeValue(Number.NaN)).toEqual({ f: 'NaN' })
    expect(encodeValue(Number.NEGATIVE_INFINITY)).toEqual({ f: '-Infinity' })
    expect(encodeValue(-0)).toEqual({ f: '-0' })
  })

  it('writes temporal, spatial and byte values field by field', () => {
    expect(encodeValue(new neo4j.types.DateTime(2026, 10, 25, 2, 30, 0, 5, 3600, 'Europe/Paris'))).toEqual({
      datetime: [2026, 10, 25, 2, 30, 0, 5, 3600, 'Europe/Paris'],
    })
    expect(encodeValue(new neo4j.types.DateTime(2026, 1, 2, 3, 4, 5, 6, -1800))).toEqual({
      datetime: [2026, 1, 2, 3, 4, 5, 6, -1800, null],
    })
    expect(
      encodeValue(
        new neo4j.types.Duration(neo4j.int(1), neo4j.int(2), neo4j.int('9007199254740993'), neo4j.int(4)),
      ),
    ).toEqual({ duration: ['1', '2', '9007199254740993', '4'] })
    expect(encodeValue(new neo4j.types.Point(7203, 1, 2))).toEqual({ point: [7203, 1, 2] })
    expect(encodeValue(Int8Array.from([-1, 0, 1]))).toEqual({
      b: Buffer.from([255, 0, 1]).toString('base64'),
    })
  })

  it('refuses what is not a property value, naming the property', () => {
    expect(() => encodeValue({ nested: 1 })).toThrow(BackupValueError)
    expect(() => encodeProperties({ ok: 1, bad: new Map() })).toThrow(/property bad: .*Map/)
  })
})

describe('decodeValue', () => {
  it.each([
    ['string', 'text'],
    ['boolean', true],
    ['float', 0.1],
    ['whole float', 3],
    ['-0', -0],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['integer', neo4j.int('-9223372036854775808')],
    ['bytes', Int8Array.from([-128, 0, 127])],
    ['list of integers', [neo4j.int(1), neo4j.int(2)]],
    ['list of strings', ['a', '']],
    ['empty list', []],
    ['date', new neo4j.types.Date(2024, 2, 29)],
    ['local time', new neo4j.types.LocalTime(23, 59, 59, 999999999)],
    ['time', new neo4j.types.Time(1, 2, 3, 4, -3600)],
    ['local datetime', new neo4j.types.LocalDateTime(1999, 12, 31, 23, 59, 59, 1)],
    ['datetime with offset', new neo4j.types.DateTime(2026, 1, 1, 0, 0, 0, 0, 19800)],
    ['datetime with zone', new neo4j.types.DateTime(2026, 10, 25, 2, 30, 0, 0, 3600, 'Europe/Paris')],
    ['duration', new neo4j.types.Duration(neo4j.int(14), neo4j.int(3), neo4j.int(86401), neo4j.int(5))],
    ['2D point', new neo4j.types.Point(7203, 1.5, -2)],
    ['3D point', new neo4j.types.Point(4979, 2.35, 48.85, 35)],
  ])('round-trips a %s exactly', (_name, value) => {
    const back = roundTrip(value)
    expect(encodeValue(back)).toEqual(encodeValue(value))
    expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(value))
    if (typeof value === 'number') expect(Object.is(back, value)).toBe(true)
  })

  it('gives Integers back as driver Integers, not numbers', () => {
    const back = roundTrip(neo4j.int(7))
    expect(neo4j.isInt(back)).toBe(true)
    expect(roundTrip(7)).toBe(7)
  })

  it('decodes whole property maps', () => {
    const props = { a: neo4j.int(1), b: 'x', c: [1.5] }
    const back = decodeProperties(JSON.parse(JSON.stringify(encodeProperties(props))))
    expect(encodeProperties(back)).toEqual(encodeProperties(props))
  })

  it('refuses unknown tags and malformed values with a message', () => {
    expect(() => decodeValue({ x: 1 })).toThrow(/unknown value tag x/)
    expect(() => decodeValue({ i: '1.5' })).toThrow(/not an integer/)
    expect(() => decodeValue({ f: 'big' })).toThrow(/not a special float/)
    expect(() => decodeValue({ date: [2026, 1] })).toThrow(/date: expected a list of 3 items/)
    expect(() => decodeValue({ i: '1', f: 'NaN' })).toThrow(BackupValueError)
    expect(() => decodeValue(null)).toThrow(BackupValueError)
    expect(() => decodeProperties([1])).toThrow(/not an object/)
  })
})
