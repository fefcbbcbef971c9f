/**
 * Function lookup as Homestar does it (§7.2): the requested name is tried against
 * the root exports as is, then UPPERCASE, kebab-case, snake_case, lowerCamelCase,
 * PascalCase and finally `%name`. Word splitting follows Rust's `heck` crate, which
 * Homestar uses for the case conversions.
 */

const ALNUM = /[\p{Alphabetic}\p{Nd}\p{Nl}\p{No}]/u
const LOWER = /\p{Lowercase}/u
const UPPER = /\p{Uppercase}/u

/** Splits a name into words the way `heck` does. */
export function splitWords (name: string): string[] {
  const words: string[] = []
  for (const part of splitNonAlnum(name)) {
    const chars = Array.from(part)
    let start = 0
    type Mode = 'boundary' | 'lower' | 'upper'
    let mode: Mode = 'boundary'
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]
      if (i + 1 >= chars.length) {
        words.push(chars.slice(start).join(''))
        break
      }
      const next = chars[i + 1]
      const nextMode: Mode = LOWER.test(c) ? 'lower' : UPPER.test(c) ? 'upper' : mode
      if (nextMode === 'lower' && UPPER.test(next)) {
        words.push(chars.slice(start, i + 1).join(''))
        start = i + 1
        mode = 'boundary'
      } else if (mode === 'upper' && UPPER.test(c) && LOWER.test(next)) {
        words.push(chars.slice(start, i).join(''))
        start = i
        mode = 'boundary'
      } else {
        mode = nextMode
      }
    }
  }
  return words.filter(w => w !== '')
}

function splitNonAlnum (name: string): string[] {
  const parts: string[] = []
  let current = ''
  for (const c of name) {
    if (ALNUM.test(c)) {
      current += c
    } else {
      parts.push(current)
      current = ''
    }
  }
  parts.push(current)
  return parts
}

const capitalize = (w: string): string => {
  const [first = '', ...rest] = Array.from(w)
  return first.toUpperCase() + rest.join('').toLowerCase()
}

export const toKebabCase = (name: string): string => splitWords(name).map(w => w.toLowerCase()).join('-')
export const toSnakeCase = (name: string): string => splitWords(name).map(w => w.toLowerCase()).join('_')
export const toPascalCase = (name: string): string => splitWords(name).map(capitalize).join('')
export const toLowerCamelCase = (name: string): string =>
  splitWords(name).map((w, i) => (i === 0 ? w.toLowerCase() : capitalize(w))).join('')

/** The names tried, in order. */
export function nameCandidates (name: string): string[] {
  return [name, name.toUpperCase(), toKebabCase(name), toSnakeCase(name), toLowerCamelCase(name), toPascalCase(name), `%${name}`]
}

/** The first export name that matches `name` or one of its variants, if any. */
export function lookupFunction (name: string, exports: Iterable<string>): string | undefined {
  const available = new Set(exports)
  return nameCandidates(name).find(candidate => available.has(candidate))
}
