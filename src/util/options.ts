/**
 * Every subsystem reads its options the same way: an `XOptions` interface whose fields are
 * documented with `@default`, a `defaultXOptions` object (for settings that have a
 * configuration key, built from the configuration's defaults, so each default is written
 * once), a constructor that takes `Partial<XOptions>`, and this merge.
 */
export function withDefaults<T extends object> (defaults: T, given: Partial<T> = {}): T {
  const out = { ...defaults }
  for (const [key, value] of Object.entries(given) as Array<[keyof T, T[keyof T] | undefined]>) {
    if (value !== undefined) out[key] = value
  }
  return out
}
