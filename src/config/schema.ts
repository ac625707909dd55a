/**
 * Every configuration key, its type and its default, in one zod schema.
 * Values arrive as strings (from etc/cced.conf or CCED_* variables) and are
 * coerced here; a bad value names its key.
 */
import { z } from 'zod';
import { isIP } from 'node:net';
import { parseAccessEntry } from '../auth/gate.js';

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), 'expected true or false')
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A comma-separated list; blanks dropped. */
const list = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''));

/** api_access: every entry must be an IPv4/IPv6 address or CIDR; a bad one stops start-up naming it. */
const accessList = list.superRefine((entries, ctx) => {
  for (const entry of entries) {
    try {
      parseAccessEntry(entry);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return;
    }
  }
});

/**
 * libuv's thread pool: UV_THREADPOOL_SIZE as the process started with it (default 4). It cannot be raised
 * from here: the ES module loader reads our own files through that pool, so libuv has sized it before
 * the first line of src/main.ts runs. Hence password_hash_jobs is held below it instead.
 */
const THREAD_POOL_ENV = process.env.UV_THREADPOOL_SIZE;
/** As libuv reads it: 4 when unset, else the number, at least 1 and at most 1024. */
const THREAD_POOL = THREAD_POOL_ENV === undefined ? 4 : Math.min(1024, Math.max(1, Number.parseInt(THREAD_POOL_ENV, 10) || 0));
/** Threads never given to argon2: one for the WAL fsync, one for file and DNS work. */
const THREADS_KEPT_FREE = 2;

const optionalPath = z.string().trim().optional().transform((v) => (v === '' ? undefined : v));

/** host:port, with IPv6 hosts in brackets. */
const listen = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port > 65535) {
      ctx.addIssue({ code: 'custom', message: 'expected host:port, e.g. 127.0.0.1:9092 or [::1]:9092' });
      return z.NEVER;
    }
    return { host: (m[1] ?? m[2])!, port };
  });

/** Asymmetric JWS algorithms: with `none` or HMAC a token could be forged (HS256 signed with the public key). */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const oidcAlgorithms = list.pipe(
  z.array(z.enum(OIDC_ALGORITHMS, { message: `expected some of ${OIDC_ALGORITHMS.join(', ')} (none and HMAC are never accepted)` })).min(1),
);

/** An https URL (http only for a loopback host: a test or a local provider); '' when OIDC is off. */
const oidcUrl = z
  .string()
  .trim()
  .refine((v) => v === '' || isSafeIssuer(v), 'expected an https:// URL (http:// only on a loopback host)');

export function isSafeIssuer(v: string): boolean {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return false;
  }
  const loopback = u.hostname === 'localhost' || u.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(u.hostname);
  return u.protocol === 'https:' || (u.protocol === 'http:' && loopback);
}

export const configSchema = z.strictObject({
  // The reference's keys.
  listen_address: listen.prefault('127.0.0.1:9092'),
  enable_http: bool.default(false),
  cert_file: optionalPath,
  key_file: optionalPath,
  ca_cert_file: optionalPath,
  logging: bool.default(true),
  debuglog: bool.default(false),
  api_access: accessList.default([]),
  /** Addresses/CIDRs of devices in the field: they reach the device paths only (src/auth/origins.ts). */
  device_access: accessList.default([]),
  /** POST /api/auth/login from a whitelisted remote address (with its X-Client-Secret); off: local addresses only. */
  rest_login_remote: bool.default(false),
  /** Where the Pantahub facade's paths start (/auth/login, /devices/...): '' is the root (docs/pantahub.md). */
  pantahub_prefix: z.string().trim().regex(/^(\/[A-Za-z0-9._-]+)*$/, 'expected "" or /segment[/segment...]').default(''),
  /** Seconds a self-registered Pantahub device's claim challenge stays valid. */
  pantahub_challenge_ttl: int(1).default(86400),
  /** Failed claims of one Pantahub device, from all addresses, within 15 minutes before its claims get 429 (src/devices/pantahub-limits.ts). */
  pantahub_claim_fails_per_device: int(1).default(20),
  /** Anonymous Pantahub self-registrations one address may make in an hour. */
  pantahub_registrations_per_address: int(1).default(60),
  token_lifetime: int(1).default(300),
  api_auth_fails: int(1).default(5),
  api_ban_time: int(1).default(60),
  /** Failures of one credential kind from one address that ban the address (src/auth/bans.ts); 10 × api_auth_fails when unset. */
  api_auth_fails_per_address: int(1).optional(),
  // Ours.
  state_dir: z.string().trim().min(1).default('./var'),
  db_path: optionalPath,
  /** Comma-separated schema folders, loaded in order; the shipped schema/ when absent. */
  schema_dir: list.optional(),
  session_lifetime: int(1).default(3600),
  local_addresses: list
    .refine((entries) => entries.every((e) => isIP(e) !== 0), 'expected IPv4/IPv6 addresses')
    .default(['127.0.0.1', '::1']),
  /** Peers whose X-Forwarded-For is believed: addresses or CIDRs, checked like api_access. */
  trusted_proxies: accessList.default([]),
  max_body_bytes: int(64).default(1024 * 1024),
  max_queue: int(1).default(10000),
  /** Objects one FIND, FINDX or GETALL answers at most; a cut reply carries a cursor (`next`). */
  max_results: int(1).default(10000),
  /** Candidates one FIND, FINDX or GETALL examines at most (in oid order) before answering a cut page. */
  max_scan_rows: int(1).default(50000),
  /** Candidates a sorted FIND, FINDX or GETALL sorts at most; more answer 403 (narrow the criteria). */
  max_sort_rows: int(1).default(100000),
  /** GETALL stops adding objects once its reply reaches about this size (at least one object is answered). */
  max_reply_bytes: int(1024).default(32 * 1024 * 1024),
  // Time and connection limits (src/listen.ts serverLimits). Seconds.
  /** The whole request, headers and body, must arrive within this; 0 = no limit. Large uploads need the most. */
  request_timeout: int(0).default(600),
  /** The request headers must arrive within this (at most request_timeout when that is set). */
  headers_timeout: int(1).default(20),
  /** A connection with no traffic either way for this long is closed; 0 = never. */
  connection_timeout: int(0).default(60),
  /** An idle keep-alive connection is closed after this. */
  keepalive_timeout: int(1).default(10),
  /** Open connections from one peer address (trusted_proxies exempt); more are closed at once. */
  max_connections_per_ip: int(1).default(256),
  /** Open connections in all; more are closed at once. */
  max_connections: int(1).default(2048),
  /** Seconds SIGTERM waits for requests in flight before the daemon exits without them (src/main.ts). */
  shutdown_timeout: int(1).default(10),
  /** Largest body of a route that authenticates nobody before reading it (Meeting login, device-key routes). */
  max_preauth_body_bytes: int(64).default(16 * 1024),
  /** Bytes of /v2/cce bodies beyond max_preauth_body_bytes one address may have in flight at once (src/http/body-budget.ts). */
  max_body_bytes_in_flight: int(64).default(64 * 1024 * 1024),
  /** Live sessions (AUTH) and live Meeting bearer tokens per user; the one closest to expiry ends first. */
  max_sessions_per_user: int(1).default(100),
  /** Live LOGIN tokens per api_access entry; the one closest to expiry ends first. */
  max_tokens_per_client: int(1).default(1000),
  /** Bytes one BEGIN queue may hold (its writes' arguments and echoes); see src/dispatch/queues.ts. */
  max_queue_bytes: int(1024).default(16 * 1024 * 1024),
  /** Bytes all the open queues of one user may hold together, across its sessions and tokens. */
  max_queue_bytes_per_user: int(1024).default(64 * 1024 * 1024),
  /** Bytes every open queue of the daemon may hold together. */
  max_queue_bytes_total: int(1024).default(256 * 1024 * 1024),
  /** argon2 jobs (password hashes and checks) at once, at most UV_THREADPOOL_SIZE - 2 (src/auth/passwords.ts). */
  password_hash_jobs: int(1)
    .refine((n) => n <= THREAD_POOL - THREADS_KEPT_FREE, {
      message: `at most ${THREAD_POOL - THREADS_KEPT_FREE}: libuv's thread pool has ${THREAD_POOL} threads (UV_THREADPOOL_SIZE) and ${THREADS_KEPT_FREE} stay free for the WAL fsync and file I/O`,
    })
    .prefault('2'),
  /** SQLite `synchronous`: FULL makes every acknowledged write survive power loss. */
  db_synchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
  /**
   * A PostgreSQL database (`postgres://user:password@host:port/db`) instead of the SQLite file: empty =
   * SQLite. A secret (it may carry a password): never logged; docs/postgresql.md.
   */
  db_url: z
    .string()
    .max(2048)
    .refine((v) => v === '' || /^postgres(ql)?:\/\/[^\s]+$/.test(v), { message: 'a postgres:// or postgresql:// URL, or empty' })
    .default(''),
  // OIDC bearer tokens (src/auth/credentials/oidc.ts, docs/credentials.md).
  /** The identity provider's issuer URL, exactly as its discovery document names it; empty = OIDC off. */
  oidc_issuer: oidcUrl.default(''),
  /** The client id every token's `aud` must contain (required when oidc_issuer is set). */
  oidc_audience: z.string().trim().default(''),
  /** The claim that names the cced User. */
  oidc_user_claim: z.string().trim().min(1).default('preferred_username'),
  /** A claim (e.g. groups, roles) whose value, or one of whose elements, equal to oidc_admin_value makes the caller a sysadmin. */
  oidc_admin_claim: z.string().trim().default(''),
  oidc_admin_value: z.string().trim().default(''),
  /** Create an unknown user on its first valid token (a plain user, no password); off: refused. */
  oidc_auto_create: bool.default(false),
  /** Signature algorithms accepted; asymmetric only (none and HMAC never). */
  oidc_algorithms: oidcAlgorithms.default(['RS256', 'ES256']),
  /** Seconds of clock skew allowed on exp and nbf. */
  oidc_clock_tolerance: int(0, 3600).default(30),
  /** Seconds after a key-set fetch during which a token with an unknown kid does not fetch it again. */
  oidc_jwks_cooldown: int(0, 86400).default(30),
  // The device world.
  status_max_logs: int(1).default(100),
  device_heartbeat_timeout: int(1).default(180),
  // 0: each beat goes to the writer, whose per-turn group commit batched better than a timer window (bench: devices).
  heartbeat_flush_ms: int(0, 1000).default(0),
  /** Devices whose credentials are kept in memory (~60 bytes each, src/devices/credential-table.ts); beyond, one is evicted per new one. */
  device_credential_cache: int(1).default(1_000_000),
  // The change log and its readers (EVENT, /v2/events; src/store/changes.ts, src/events/).
  /** Newest changes kept in the log; 0 = no bound by count (then event_retention_age must bound it). */
  event_retention: int(0).default(100_000),
  /** Seconds a change is kept; 0 = no bound by age. */
  event_retention_age: int(0).default(7 * 24 * 3600),
  /** Seconds between two recorded last_seen changes of one device (heartbeats are coalesced). */
  event_heartbeat_interval: int(0).default(60),
  /** Longest long-poll of EVENT, in seconds (a larger `wait` is cut to it). */
  event_max_wait: int(0, 3600).default(30),
  /** Seconds between keep-alive comments on an idle /v2/events stream. */
  event_keepalive: int(1, 3600).default(15),
  /** Open /v2/events streams per client address (trusted_proxies exempt). */
  event_streams_per_ip: int(1).default(16),
  /** Bytes a /v2/events stream may have waiting for a slow reader; beyond it the stream is closed. */
  event_stream_buffer_bytes: int(4096).default(1024 * 1024),
  // Firmware files.
  flash_storage_root: optionalPath,
  flash_max_file_bytes: int(1).default(512 * 1024 * 1024),
  flash_allowed_extensions: list.default(['bin', 'img', 'gz', 'xz', 'zst', 'zip', 'tar', 'swu', 'raucb', 'json']),
  // Reverse tunnels and the embedded SSH server (src/tunnels/).
  /** host:port of the embedded SSH reverse-tunnel server; absent or empty = no SSH server (the default). */
  ssh_listen_address: optionalPath.pipe(listen.optional()),
  /** The host name put in tunnel URLs and in GET /api/ssh-hostkey. */
  tunnel_host: z.string().trim().min(1).default('127.0.0.1'),
  /**
   * This node's address as devices and clients reach it (several nodes on one database): a tunnel is served by the
   * SSH server of the node that reserved it, and POST /api/devices/:key/service answers that node's URL. Unset: one node.
   */
  node_url: optionalPath.pipe(z.url({ protocol: /^https?$/, error: 'node_url must be an http:// or https:// URL' }).optional()),
  tunnel_port_min: int(1, 65535).default(9050),
  tunnel_port_max: int(1, 65535).default(9149),
  /** Seconds a reserved tunnel port lives; each new request for the same device and service extends it. */
  tunnel_lifetime: int(1).default(3600),
  /** A device whose last heartbeat is older than this many seconds may not get a tunnel (the document's 60 s). */
  tunnel_max_last_seen: int(1).default(60),
  // Player media (digital signage).
  player_storage_root: optionalPath,
  player_max_file_bytes: int(1).default(1024 * 1024 * 1024),
  player_allowed_extensions: list.default(['mp4', 'webm', 'mkv', 'mov', 'm4v', 'jpg', 'jpeg', 'png', 'webp']),
});

/** The raw input: every key optional and a string, as it comes from a file or the environment. */
export type ConfigInput = Partial<Record<keyof typeof configSchema.shape, string>>;

type Parsed = z.output<typeof configSchema>;

/** The configuration after defaults that depend on other keys are filled. */
export type Config = Omit<Parsed, 'db_path' | 'schema_dir' | 'flash_storage_root' | 'player_storage_root'> & {
  db_path: string;
  schema_dir: string[];
  flash_storage_root: string;
  player_storage_root: string;
};

export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof typeof configSchema.shape)[];
