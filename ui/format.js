// Formatting for display: CIDs, sizes, durations, values.

/** `bafyrmi…x4zq`: enough of a CID to tell it apart; the full one goes in a title. */
export function shortCid (cid, head = 10, tail = 6) {
  if (typeof cid !== 'string') return ''
  return cid.length <= head + tail + 1 ? cid : `${cid.slice(0, head)}…${cid.slice(-tail)}`
}

export function formatBytes (n) {
  if (!Number.isFinite(n)) return '—'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

export function formatDuration (seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '—'
  const s = Math.floor(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`
}

export function formatCount (n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '—'
}

export function formatRate (perSecond) {
  if (!Number.isFinite(perSecond)) return '—'
  return perSecond >= 100 ? Math.round(perSecond).toLocaleString('en') : perSecond.toFixed(1)
}

export function formatTime (ms) {
  if (!Number.isFinite(ms)) return ''
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false })
}

/** A value as compact JSON (DAG-JSON links and bytes stay as they are), cut to `max` characters. */
export function formatValue (value, max = 80) {
  let text
  try {
    text = JSON.stringify(value)
  } catch {
    text = String(value)
  }
  if (text === undefined) text = String(value)
  return text.length > max ? { text: `${text.slice(0, max - 1)}…`, full: text } : { text, full: text }
}

/** A CID from a DAG-JSON link `{"/": cid}` or a plain string. */
export function linkCid (value) {
  if (typeof value === 'string') return value
  if (value !== null && typeof value === 'object' && typeof value['/'] === 'string') return value['/']
  return undefined
}
