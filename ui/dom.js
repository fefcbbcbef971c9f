// Small DOM helpers: elements are built with textContent and attributes only, never from HTML text.

const SVG_NS = 'http://www.w3.org/2000/svg'

/** The element with this id (it must exist). */
export function byId (id) {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`missing element #${id}`)
  return el
}

function build (el, attrs, children) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'text') el.textContent = String(value)
    else if (key === 'dataset') Object.assign(el.dataset, value)
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

/** An HTML element: `h('td', { class: 'x' }, 'text', h('code', {}, cid))`. */
export function h (tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children)
}

/** An SVG element. */
export function s (tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children)
}

/** Replaces an element's children. */
export function replaceChildren (el, ...children) {
  el.replaceChildren(...children.flat().filter(c => c !== undefined && c !== null && c !== false))
}
