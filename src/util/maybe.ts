/**
 * A value, or a promise of one: what a step returns when it is usually done at once (a
 * `health` request answered from memory) and only sometimes has to wait. Going through an
 * `async` function costs a promise and a turn of the microtask queue at every level of a
 * call chain, which on the request path of a small JSON-RPC call is a good part of its CPU.
 */
export type MaybePromise<T> = T | Promise<T>

export function isThenable<T = unknown> (v: unknown): v is PromiseLike<T> {
  return typeof (v as PromiseLike<unknown> | undefined)?.then === 'function'
}

/** `f(value)`, at once when `value` is not a promise, else once it resolves (a rejection passes through). */
export function andThen<T, U> (value: MaybePromise<T>, f: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return isThenable<T>(value) ? Promise.resolve(value).then(f) : f(value)
}
