/** What every long-lived subsystem implements. Constructors do no I/O; `start` does. */
export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}
