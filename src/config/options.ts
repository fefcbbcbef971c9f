/**
 * The node's settings. Keys are exactly the TOML keys (`[rpc] port = 1337`) and the
 * environment names (`IPVM_RPC__PORT=1337`); `schemas/config.json` validates them.
 */
export interface IpvmConfig {
  node: {
    /** Where the store, the keypair and ports.json live. @default ".ipvm" */
    data_dir: string
    /** pino level: fatal, error, warn, info, debug, trace or silent. @default "info" */
    log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
    /** Log lines as JSON or readable (`pretty`); `auto` is readable when stderr is a terminal. @default "auto" */
    log_format: 'auto' | 'json' | 'pretty'
    /** Ed25519 key file (raw 32-byte seed, base64 or PEM); created on first start when missing. @default "<data_dir>/node.key" */
    key_file: string
    /** An Ed25519 seed (base64, 32 bytes) instead of a key file. Secret. @default "" */
    key_seed: string
    /** Time allowed for a graceful stop before subsystems are torn down. @default 5000 */
    shutdown_timeout_ms: number
  }
  rpc: {
    /** @default "127.0.0.1" */
    host: string
    /** 0 picks a free port. @default 1337 */
    port: number
    /** Largest WebSocket frame or HTTP body accepted. @default 8388608 (8 MiB) */
    max_frame_bytes: number
    /** Largest JSON-RPC batch. @default 100 */
    max_batch: number
    /**
     * The framing of subscription notifications for subscribers that do not choose one (their
     * `options` param): "bytes" is Homestar's array of UTF-8 byte values of the DAG-JSON text,
     * what Homestar's clients decode; "json" the DAG-JSON value itself. @default "bytes"
     */
    notification_format: 'json' | 'bytes'
    /** When set, every request needs `Authorization: Bearer <token>` (or `?token=` on WebSocket). Secret. @default "" */
    auth_token: string
    /** Deepest nesting of arrays and objects in a message; deeper ones get -32600. @default 64 */
    max_json_depth: number
    /** WebSocket clients at once; more are refused with HTTP 503. @default 1024 */
    max_connections: number
    /** Subscriptions open at once on one WebSocket. @default 256 */
    max_subscriptions_per_connection: number
    /**
     * Requests per second from one client (after the burst): one IPv4 address or IPv6 /64, all its
     * WebSocket connections and HTTP requests together; 0 turns the limit off. @default 200
     */
    max_requests_per_second: number
    /** Requests one client may send at once before max_requests_per_second applies. @default 200 */
    request_burst: number
    /** A client that lets more than this many bytes of responses and notifications pile up unread is disconnected. @default 67108864 (64 MiB) */
    max_buffered_bytes: number
    /**
     * Unsent bytes across all clients: past it, the clients furthest behind are disconnected first
     * (and requests already read but not yet handled make the node read more slowly). @default 268435456 (256 MiB)
     */
    max_total_buffered_bytes: number
    /** Largest file `POST /add` takes. @default 1073741824 (1 GiB) */
    max_upload_bytes: number
    /**
     * Origins whose browser pages may use the node besides its own: exact (`https://app.example.com`),
     * any port (`http://localhost:*`), or `*` for every page (logged as a warning).
     * @default ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
     */
    allowed_origins: string[]
    /**
     * Host names a request's Host header may carry (port ignored) besides rpc.host; on 0.0.0.0 or ::
     * the machine's own addresses are added. `*` answers any Host (logged as a warning).
     * @default ["localhost", "127.0.0.1", "[::1]"]
     */
    allowed_hosts: string[]
  }
  metrics: {
    /** Serve Prometheus text on host:port /metrics. @default true */
    enable: boolean
    /** @default "127.0.0.1" */
    host: string
    /** @default 4000 */
    port: number
    /** Distinct values one label of one metric takes (e.g. `op`, the Wasm function); later ones are counted as `other`. @default 64 */
    max_label_values: number
  }
  network: {
    /** Join the libp2p network. @default true */
    enable: boolean
    /** libp2p listen multiaddrs. @default ["/ip4/0.0.0.0/tcp/0"] */
    listen: string[]
    /** Peers to dial at start and keep connected (multiaddrs with /p2p/<id>). @default [] */
    peers: string[]
    /** Discover peers on the local network. @default true */
    mdns: boolean
    /** Gossip receipts on the `receipts` topic. @default true */
    gossip: boolean
    /** Peers a receipt must be stored on in the DHT. @default 2 */
    receipt_quorum: number
    /** How long a task waits for a receipt from the DHT before it runs. @default 500 */
    dht_timeout_ms: number
    /** Whose receipts are reused as results: "trusted" peers (network.peers and trusted_peers), "any" peer (Homestar's behaviour), or "none". @default "trusted" */
    trust: 'trusted' | 'any' | 'none'
    /** Peer ids or Ed25519 did:key DIDs trusted besides the peers in network.peers. @default [] */
    trusted_peers: string[]
    /** Distinct trusted peers that must vouch for the same receipt before it is reused. @default 1 */
    receipt_quorum_agree: number
    /** Receipts from peers kept apart (never reused) at once, waiting for trusted vouchers. @default 4096 */
    max_receipt_candidates: number
    /** Bytes of receipts kept apart at once. @default 16777216 (16 MiB) */
    max_receipt_candidate_bytes: number
    /** DHT records kept for other peers at once (the oldest dropped beyond it). @default 10000 */
    max_dht_records: number
    /** Bytes of DHT records kept for other peers at once. @default 67108864 (64 MiB) */
    max_dht_record_bytes: number
    /** How often the node exchanges its recent receipts with a random trusted peer, so that what gossip lost comes back; 0 never. @default 10000 */
    receipt_sync_interval_ms: number
  }
  workflow: {
    /** Tasks run at once across all workflows. @default 32 */
    concurrency: number
    /** Retries of a failed task. @default 3 */
    retries: number
    /** @default 500 */
    retry_initial_delay_ms: number
    /** @default 60000 */
    retry_max_delay_ms: number
    /** Task timeout when `meta.time` is absent. @default 100000 */
    default_timeout_ms: number
    /** Ceiling on any task's timeout: a `meta.time` (or default_timeout_ms) above it is lowered to it. @default 600000 (10 minutes) */
    max_timeout_ms: number
    /** Wasm memory cap when `meta.memory` is absent. @default 268435456 (256 MiB) */
    default_memory_bytes: number
    /** How long an idle Wasm worker thread is kept for the next task before it stops; workers start when tasks come. @default 10000 */
    worker_idle_ms: number
    /** Most tasks in one workflow. @default 10000 */
    max_tasks: number
    /** Workflow runs executing at once (a sleeping or paused run gives its place back); more wait in a queue. @default 64 */
    max_runs: number
    /** Runs waiting for one of max_runs; beyond them new runs are refused (-32005, WORKFLOW_BUSY). @default 1024 */
    max_queued_runs: number
    /** Times a run may be resumed after a crash of the node (graceful stops do not count); beyond it the run is marked failed (WORKFLOW_RESTARTS_EXCEEDED). @default 3 */
    max_restarts: number
    /**
     * Where a ready Wasm task runs: "local" on this node; "spread" on this node or a peer
     * offering work, whichever is least loaded; "remote-first" on a peer with room, here when none
     * has. A run (subscribe option) or a task (`meta.placement`) may ask otherwise. @default "local"
     */
    placement: 'local' | 'spread' | 'remote-first'
  }
  compute: {
    /** Whose tasks this node runs for them: "none", "trusted" peers (network.peers and network.trusted_peers), or "any" peer (logged as a warning). @default "trusted" */
    accept: 'none' | 'trusted' | 'any'
    /** Tasks one peer may have on this node at once (running or queued); more are refused as busy. @default 16 */
    max_in_flight_per_peer: number
    /** Peers' tasks waiting for one of this node's Wasm workers at once; more are refused as busy. @default 64 */
    max_queued_remote: number
    /** How a peer's result is checked beyond the trust policy: "none", "sample:<fraction>" (run a fraction here too and compare), "replicate:<k>" (run on k executors, accept on agreement). @default "none" */
    verify: string
    /** How long a peer may take to start a dispatched task, and to deliver it beyond the task's own timeout, before it runs elsewhere. @default 30000 */
    dispatch_timeout_ms: number
  }
  resources: {
    /** Kubo HTTP API to fetch `ipfs://` blocks from when they are not local, e.g. http://127.0.0.1:5001. @default "" */
    kubo_api: string
    /** An IPFS HTTP gateway that answers trustless block requests (`/ipfs/<cid>?format=raw`), e.g. https://trustless-gateway.link; tried after kubo_api. @default "" */
    gateway: string
    /** Folders `file://` resources may be read from (symlinks resolved, no way out); none: `file://` is refused. @default [] */
    allow_file_roots: string[]
    /** Hosts (`name` or `name:port`) `http(s)://` resources may be fetched from; none: refused. @default [] */
    allow_http_hosts: string[]
  }
}

export const defaultConfig: IpvmConfig = {
  node: { data_dir: '.ipvm', log_level: 'info', log_format: 'auto', key_file: '', key_seed: '', shutdown_timeout_ms: 5000 },
  rpc: {
    host: '127.0.0.1',
    port: 1337,
    max_frame_bytes: 8 * 1024 * 1024,
    max_batch: 100,
    notification_format: 'bytes',
    auth_token: '',
    max_json_depth: 64,
    max_connections: 1024,
    max_subscriptions_per_connection: 256,
    max_requests_per_second: 200,
    request_burst: 200,
    max_buffered_bytes: 64 * 1024 * 1024,
    max_total_buffered_bytes: 256 * 1024 * 1024,
    max_upload_bytes: 1024 * 1024 * 1024,
    allowed_origins: ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'],
    allowed_hosts: ['localhost', '127.0.0.1', '[::1]']
  },
  metrics: { enable: true, host: '127.0.0.1', port: 4000, max_label_values: 64 },
  network: {
    enable: true,
    listen: ['/ip4/0.0.0.0/tcp/0'],
    peers: [],
    mdns: true,
    gossip: true,
    receipt_quorum: 2,
    dht_timeout_ms: 500,
    trust: 'trusted',
    trusted_peers: [],
    receipt_quorum_agree: 1,
    max_receipt_candidates: 4096,
    max_receipt_candidate_bytes: 16 * 1024 * 1024,
    max_dht_records: 10_000,
    max_dht_record_bytes: 64 * 1024 * 1024,
    receipt_sync_interval_ms: 10_000
  },
  workflow: { concurrency: 32, retries: 3, retry_initial_delay_ms: 500, retry_max_delay_ms: 60_000, default_timeout_ms: 100_000, max_timeout_ms: 600_000, default_memory_bytes: 256 * 1024 * 1024, worker_idle_ms: 10_000, max_tasks: 10_000, max_runs: 64, max_queued_runs: 1024, max_restarts: 3, placement: 'local' },
  compute: { accept: 'trusted', max_in_flight_per_peer: 16, max_queued_remote: 64, verify: 'none', dispatch_timeout_ms: 30_000 },
  resources: { kubo_api: '', gateway: '', allow_file_roots: [], allow_http_hosts: [] }
}

/** A partial config, as a TOML file, the environment or flags give it. */
export type PartialConfig = { [S in keyof IpvmConfig]?: Partial<IpvmConfig[S]> }
