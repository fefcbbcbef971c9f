import { Command } from 'commander'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { defaultConfig, loadOrCreateKeypair } from '../../config/index.js'
import { CliError, CliErrorCode } from '../errors.js'
import { print, resolveConfig, withConfigOptions } from '../shared.js'

export function initCommand (): Command {
  return withConfigOptions(new Command('init'))
    .description('create a data folder with a settings file and the node\'s key')
    .option('-o, --output <file>', 'where to write the settings (default: <data>/config.toml)')
    .option('-f, --force', 'overwrite an existing settings file')
    .option('--json', 'machine-readable output')
    .action(async (flags: { config?: string, data?: string, output?: string, force?: boolean, json?: boolean }) => {
      const config = resolveConfig(flags)
      const dataDir = resolve(config.node.data_dir)
      const output = resolve(flags.output ?? join(dataDir, 'config.toml'))
      if (existsSync(output) && flags.force !== true) throw new CliError(CliErrorCode.EXISTS, `${output} exists`, { hint: 'use --force to overwrite it' })
      mkdirSync(dataDir, { recursive: true })
      mkdirSync(dirname(output), { recursive: true })
      writeFileSync(output, settingsToml(flags.data ?? config.node.data_dir))
      const key = await loadOrCreateKeypair({ keyFile: config.node.key_file, seed: config.node.key_seed })
      // libp2p's peer-id code (and its curves) is loaded by the one command that shows one
      const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
      const peerId = peerIdFromPrivateKey(key).toString()
      if (flags.json === true) print(JSON.stringify({ config: output, data_dir: dataDir, key_file: config.node.key_file, peer_id: peerId }))
      else print(`settings  ${output}\ndata      ${dataDir}\nkey       ${config.node.key_file}\npeer id   ${peerId}`)
    })
}

/** The default settings as a commented TOML file. */
export function settingsToml (dataDir: string): string {
  const d = defaultConfig
  const q = (s: string): string => JSON.stringify(s)
  const list = (l: string[]): string => `[${l.map(q).join(', ')}]`
  return `# ipvm node settings. Environment variables override them (IPVM_<SECTION>__<KEY>, e.g. IPVM_RPC__PORT=1338),
# and command-line flags override both.

[node]
data_dir = ${q(dataDir)}
log_level = ${q(d.node.log_level)}
log_format = ${q(d.node.log_format)}   # "json", "pretty", or "auto": pretty when stderr is a terminal
# key_file = "<data_dir>/node.key"   # Ed25519 seed, created on first start
# key_seed = ""   # base64 Ed25519 seed, instead of the key file (a secret: prefer the key file)
shutdown_timeout_ms = ${d.node.shutdown_timeout_ms}

[rpc]
host = ${q(d.rpc.host)}
port = ${d.rpc.port}
max_frame_bytes = ${d.rpc.max_frame_bytes}
max_batch = ${d.rpc.max_batch}
notification_format = ${q(d.rpc.notification_format)}   # for subscribers that ask for no format: "bytes" is Homestar's framing, "json" plain JSON
# auth_token = ""   # set to require "Authorization: Bearer <token>"; set it whenever host is not loopback
max_json_depth = ${d.rpc.max_json_depth}
max_connections = ${d.rpc.max_connections}
max_subscriptions_per_connection = ${d.rpc.max_subscriptions_per_connection}
max_requests_per_second = ${d.rpc.max_requests_per_second}   # per client address, all its connections together; 0 turns the limit off
request_burst = ${d.rpc.request_burst}
max_buffered_bytes = ${d.rpc.max_buffered_bytes}   # a client that stops reading is disconnected past this
max_total_buffered_bytes = ${d.rpc.max_total_buffered_bytes}   # all clients together; the furthest behind are disconnected first
max_upload_bytes = ${d.rpc.max_upload_bytes}   # largest file POST /add takes
allowed_origins = ${list(d.rpc.allowed_origins)}   # web pages that may use the node besides its own ("scheme://host:*" for any port; "*" lets every page in)
allowed_hosts = ${list(d.rpc.allowed_hosts)}   # Host header names answered besides rpc.host (stops DNS rebinding; "*" answers any)

[metrics]
enable = ${d.metrics.enable}
host = ${q(d.metrics.host)}
port = ${d.metrics.port}
max_label_values = ${d.metrics.max_label_values}   # distinct values of one label of a metric (e.g. op); later ones count as "other"

[network]
enable = ${d.network.enable}
listen = ${list(d.network.listen)}
peers = ${list(d.network.peers)}
mdns = ${d.network.mdns}
gossip = ${d.network.gossip}
receipt_quorum = ${d.network.receipt_quorum}
dht_timeout_ms = ${d.network.dht_timeout_ms}
receipt_sync_interval_ms = ${d.network.receipt_sync_interval_ms}   # how often recent receipt CIDs are traded with a trusted peer to repair gossip losses (0: on connecting only)
trust = ${q(d.network.trust)}   # whose receipts are reused as results: "trusted" peers (peers, trusted_peers), "any" (Homestar's behaviour), "none"
trusted_peers = ${list(d.network.trusted_peers)}   # peer ids or did:key DIDs trusted besides network.peers
receipt_quorum_agree = ${d.network.receipt_quorum_agree}   # distinct trusted peers that must vouch for a receipt before it is reused
max_receipt_candidates = ${d.network.max_receipt_candidates}   # receipts kept apart while too few trusted peers vouch for them
max_receipt_candidate_bytes = ${d.network.max_receipt_candidate_bytes}
max_dht_records = ${d.network.max_dht_records}   # DHT records kept for other peers (the oldest dropped beyond either cap)
max_dht_record_bytes = ${d.network.max_dht_record_bytes}

[workflow]
concurrency = ${d.workflow.concurrency}
retries = ${d.workflow.retries}
retry_initial_delay_ms = ${d.workflow.retry_initial_delay_ms}
retry_max_delay_ms = ${d.workflow.retry_max_delay_ms}
default_timeout_ms = ${d.workflow.default_timeout_ms}
max_timeout_ms = ${d.workflow.max_timeout_ms}   # ceiling on any task's timeout (meta.time): a task asking for more gets this
default_memory_bytes = ${d.workflow.default_memory_bytes}
worker_idle_ms = ${d.workflow.worker_idle_ms}   # an idle Wasm worker thread stops after this; the next task starts one
max_tasks = ${d.workflow.max_tasks}
max_runs = ${d.workflow.max_runs}   # runs executing at once (sleeping and paused runs do not count)
max_queued_runs = ${d.workflow.max_queued_runs}   # runs waiting beyond max_runs; more are refused
max_restarts = ${d.workflow.max_restarts}   # resumes of an unfinished run after node crashes (graceful stops do not count); then it is marked failed
placement = ${q(d.workflow.placement)}   # where ready tasks run: "local", "spread" (here or a trusted peer, the least loaded), "remote-first"

[compute]
accept = ${q(d.compute.accept)}   # whose tasks this node runs: "none", "trusted" peers (network.peers, network.trusted_peers), "any" (logged as a warning)
max_in_flight_per_peer = ${d.compute.max_in_flight_per_peer}   # tasks one peer may have here at once; also the most this node sends one peer
max_queued_remote = ${d.compute.max_queued_remote}   # peers' tasks waiting for a worker here; more are refused as busy
verify = ${q(d.compute.verify)}   # "none", "sample:<fraction>" (run that share of peers' tasks here too), "replicate:<k>" (run on k executors)
dispatch_timeout_ms = ${d.compute.dispatch_timeout_ms}   # a peer must start a task within this, and deliver it within its timeout plus this

[resources]
kubo_api = ${q(d.resources.kubo_api)}   # e.g. "http://127.0.0.1:5001": fetch ipfs:// blocks this node lacks
gateway = ${q(d.resources.gateway)}   # e.g. "https://trustless-gateway.link": the same, from a trustless HTTP gateway
# file:// and http(s):// resources are refused unless allowed here (they are not content-addressed)
allow_file_roots = ${list(d.resources.allow_file_roots)}   # folders, e.g. ["/srv/wasm"]
allow_http_hosts = ${list(d.resources.allow_http_hosts)}   # hosts, e.g. ["example.com", "127.0.0.1:8080"]
`
}
