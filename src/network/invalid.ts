/** The metric label for a receipt that failed validation: the error's code, or `invalid`. */
export function invalidReason (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(code)) return code
  return 'invalid'
}
