import { describe, expect, it } from 'vitest'
import {
  lookupFunction, nameCandidates, splitWords, toKebabCase, toLowerCamelCase, toPascalCase, toSnakeCase
} from '../../../src/runtime/values/func-lookup.js'

describe('function lookup (§7.2)', () => {
  it('splits words like heck', () => {
    expect(splitWords('add_one')).toEqual(['add', 'one'])
    expect(splitWords('addOne')).toEqual(['add', 'One'])
    expect(splitWords('HTTPRequest')).toEqual(['HTTP', 'Request'])
    expect(splitWords('rotate90')).toEqual(['rotate90'])
    expect(splitWords('blur-base64')).toEqual(['blur', 'base64'])
    expect(splitWords('__a__b__')).toEqual(['a', 'b'])
  })

  it('converts cases', () => {
    expect(toKebabCase('add_one')).toBe('add-one')
    expect(toSnakeCase('addOne')).toBe('add_one')
    expect(toLowerCamelCase('add-one')).toBe('addOne')
    expect(toPascalCase('add_one')).toBe('AddOne')
    expect(toKebabCase('HTTPRequest')).toBe('http-request')
  })

  it('tries exact, UPPERCASE, kebab, snake, lowerCamel, Pascal and %name, in that order', () => {
    expect(nameCandidates('add_one')).toEqual(['add_one', 'ADD_ONE', 'add-one', 'add_one', 'addOne', 'AddOne', '%add_one'])
  })

  it('finds the export', () => {
    const exports = ['add-one', 'append-string', 'TRAP', 'type', 'blur-base64']
    expect(lookupFunction('add_one', exports)).toBe('add-one')
    expect(lookupFunction('addOne', exports)).toBe('add-one')
    expect(lookupFunction('AddOne', exports)).toBe('add-one')
    expect(lookupFunction('add-one', exports)).toBe('add-one')
    expect(lookupFunction('trap', exports)).toBe('TRAP')
    expect(lookupFunction('blurBase64', exports)).toBe('blur-base64')
    expect(lookupFunction('add_two', exports)).toBeUndefined()
  })

  it('prefers the exact name when several variants exist', () => {
    expect(lookupFunction('add_one', ['add-one', 'add_one'])).toBe('add_one')
    expect(lookupFunction('type', ['%type'])).toBe('%type')
  })
})
