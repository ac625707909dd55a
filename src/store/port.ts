/**
 * The store's port: everything the backend-free store (store.ts: canonicalise,
 * validate, ACLs, references, hooks, caches; writer.ts: group commit;
 * changes.ts, backfill.ts, the grants and the console's transfers) asks of a
 * database. The SQLite backend (src/store/sqlite/) implements it; a PostgreSQL
 * backend will. Nothing outside src/store sees a database handle or SQL: they
 * get the Store, the Writer and the store-owned modules built on this port.
 *
 * Every method is synchronous. The Store and the Writer read and write through
 * its asynchronous form (async-port.ts: `async`, and the Writer's transaction
 * handle, `writerHandle()`), which PostgreSQL (postgres/) implements too and
 * sqlite/async-adapter.ts puts this backend behind; what stays synchronous
 * here is what only the SQLite store needs (its caches' external version, the
 * oid counter, the WAL fsync, the search threads, the console's transfers and
 * the default fill). docs/architecture.md, "The store and its backends".
 *
 * Writes are only ever made inside a transaction the Writer opened through
 * `Transactions`; reads may run anywhere.
 */
import type { SearchSpent } from './safe-regex.js';
import type { AsyncStoreBackend, TxHandle } from './async-port.js';

/** One criterion of a find, resolved against the schema by the store (derived and soft-delete rules applied). */
export interface FindTerm {
  ns: string;
  name: string;
  /** `=`: equal (for an array property, any element equal); `~`: the store's pattern matcher (any element for arrays). */
  op: '=' | '~';
  /** `=`: the canonical value (array elements as given); `~`: the pattern. */
  value: string;
  array: boolean;
  /** An object without a stored row of this property counts as matching (its default would; see backfill.ts). */
  orMissing: boolean;
}

/** A find, in terms a backend runs: the class, the terms and (sorted finds) the property to sort by. */
export interface FindSpec {
  className: string;
  terms: readonly FindTerm[];
  /** The term driving the query through the (class, ns, name, value) index: an exact match of a single value; -1: the class. */
  driver: number;
  /** Sorted finds: the stored property whose value each oid comes with. */
  sortBy?: { ns: string; name: string };
}

/** A compiled find: its statements are prepared once and reused by every page of it. */
export interface FindRun {
  /** Every matching oid, in oid order. */
  all(): number[];
  /** Every match with the stored value of `sortBy` (null: no row), in oid order. */
  withSortValues(): { oid: number; sortvalue: string | null }[];
  /** Are there more than `n` candidates (rows of the driving index)? */
  candidatesBeyond(n: number): boolean;
  /** The oid of the `offset`-th candidate after `from` (0-based), or undefined past the last: a window's end. */
  windowEnd(from: number, offset: number): number | undefined;
  /** Matching oids with `from < oid <= to`, in oid order, at most `limit`. */
  range(from: number, to: number, limit: number): number[];
}

/** A FindRun whose statements run elsewhere (a search thread): every answer comes later. */
export type AsyncFindRun = { [K in keyof FindRun]: (...args: Parameters<FindRun[K]>) => Promise<ReturnType<FindRun[K]>> };

/**
 * Finds with client patterns run off the event loop (sqlite/search-threads.ts):
 * each statement on a thread with its own read connection, within the
 * search's time limit, which `spent` carries from one statement to the next.
 */
export interface SearchThreads {
  find(spec: FindSpec, spent: SearchSpent): AsyncFindRun;
  /** Resolves once every thread has ended (and with it its connection). */
  close(): Promise<void>;
}

/**
 * Where a page of a class in one property's order starts: `offset` entries from the first, or at (or right
 * after) an entry, `skip` entries further (0 when absent).
 */
export type PageStart = { offset: number } | { value: string; oid: number; inclusive: boolean; skip?: number };

/** Does any part of the value match the client pattern (the store's matcher)? */
export type PatternTest = (pattern: string, value: string) => boolean;

/** The objects, their properties, credentials and settings. */
export interface ObjectRows {
  /**
   * The matcher `~` runs (the store's linear-time engine); set once, before any find. `current` gives the
   * matcher of the search now current, for a backend that tests rows after its statement returned.
   */
  useMatcher(test: PatternTest, current?: () => PatternTest): void;
  classOf(oid: number): string | undefined;
  /** An object's class and one namespace's stored values (JSON-parsed: only string members are values). */
  classAndValues(oid: number, ns: string): { className: string; values: Record<string, unknown> } | undefined;
  /** One namespace's stored values. */
  values(oid: number, ns: string): Record<string, string>;
  /** The classes of the oids that exist, in oid order. */
  classesOf(oids: readonly number[]): { oid: number; className: string }[];
  /** Every stored namespace of the oids: [oid, ns, values]. */
  namespacesOf(oids: readonly number[]): [number, string, Record<string, unknown>][];
  value(oid: number, ns: string, name: string): string | undefined;
  /** The lowest oid of a class whose (single) property equals `value`, with the named main-namespace values it stores. */
  firstWith(className: string, ns: string, name: string, value: string, fields: readonly string[]): { oid: number; values: Record<string, unknown> } | undefined;
  /** An object of the class other than `except` holding this value, if any. */
  holderOf(className: string, ns: string, name: string, value: string, except: number): number | undefined;
  /**
   * A new object; returns its oid (never one handed out before), or the one given (`at`, which no object
   * holds: an import into an empty store keeps its export's oids).
   */
  insertObject(className: string, now: number, at?: number): number;
  touch(oid: number, now: number): void;
  putValue(oid: number, ns: string, name: string, className: string, value: string): void;
  /** A heartbeat's two values (main namespace: last_seen, ip_address) in one call, touched as putValue's; returns last_seen as it was before. */
  putBeat(oid: number, className: string, lastSeen: string, ipAddress: string, now: number): string | undefined;
  /** The object, its properties and its credentials. */
  deleteObject(oid: number): void;
  putCredential(oid: number, name: string, hash: string, now: number): void;
  credential(oid: number, name: string): string | undefined;
  setting(key: string): string | undefined;
  putSetting(key: string, value: string | undefined): void;
  count(): number;
  classCount(className: string): number;
  /** Keeps every oid up to `highest` from being handed out again, even if the transaction that made them rolls back. */
  reserveOids(highest: number): void;
  /** Changes when another connection or process committed (SQLite's data_version). */
  externalVersion(): number;
  readonly inTransaction: boolean;
  find(spec: FindSpec): FindRun;
  /** How many objects of a class store `by` (with `prefix`: a value starting with it). */
  pageCount(className: string, by: string, prefix: string): number;
  /** Objects of a class in (value of `by`, oid) order from `start`, at most `limit`. */
  pageRows(className: string, by: string, prefix: string, start: PageStart, limit: number): { oid: number; value: string }[];
}

/** The savepoint of one nesting depth. */
export interface Savepoint {
  begin(): void;
  release(): void;
  undo(): void;
}

/** Commits made durable off the event loop (see WalSync in sqlite/wal-sync.ts). */
export interface Durability {
  readonly broken: unknown;
  /** Calls `done` once everything committed so far is durable (with the error if that failed). */
  after(done: (err: unknown) => void): void;
  /** Calls `fn` when no sync is in flight. */
  whenIdle(fn: () => void): void;
  close(): void;
}

/**
 * Reads from the last committed state while the Writer's transaction is open
 * (SQLite: a second, read-only connection; see sqlite/reader.ts): the Writer
 * switches it on from BEGIN to COMMIT, so no read outside its handle (made
 * between two statements of a job, or while a long batch pauses) meets its
 * uncommitted writes. What `inTransaction` and `externalVersion` say stays
 * the writer's: caches are not filled while the transaction is open.
 */
export interface ReadSnapshot {
  /** From now until resume(), reads outside the Writer's handle see the last committed state, and writes fail. */
  pause(): void;
  /** Reads and writes go to the writer's connection again. */
  resume(): void;
  /** Between pause() and resume(). */
  readonly paused: boolean;
}

/**
 * Upkeep of the database that runs off the event loop and that the Writer's
 * commits must not race (SQLite: the WAL checkpoint on a thread of its own;
 * see sqlite/checkpoints.ts).
 */
export interface Upkeep {
  /** A batch committed: the backend may start its upkeep now; a failure of it goes to `onError`. */
  committed(onError: (err: unknown) => void): void;
  /** Calls `fn` when no upkeep holds the writes back: at once, or when the holding part ends. */
  whenIdle(fn: () => void): void;
  /** Since the database opened (the metrics read it). */
  readonly totals: UpkeepTotals;
}

export interface UpkeepTotals {
  /** Upkeep runs completed (SQLite: checkpoints). */
  runs: number;
  /** Times the WAL started over since start (SQLite: read from the WAL's header; a complete checkpoint lets the next commit do it). */
  restarts: number;
  /** How long the Writer's batches were held back for upkeep, in all and at most at once (ms). */
  heldMs: number;
  longestHeldMs: number;
}

/** The transactions the Writer opens. */
export interface Transactions {
  /** Upkeep the Writer's batches wait for (undefined: none). */
  readonly upkeep?: Upkeep;
  /** Present where a batch may pause (see ReadSnapshot); a memory database has none: its batches run in one go. */
  readonly snapshot?: ReadSnapshot;
  begin(): void;
  commit(): void;
  rollback(): void;
  readonly inTransaction: boolean;
  savepoint(depth: number): Savepoint;
  /** With `syncWal`: durability off the event loop, or undefined where the backend has none (a memory database). */
  durability(syncWal: boolean): Durability | undefined;
  /** Resolves once no transaction is open (at once if none is): where there is no ReadSnapshot, reads wait for it. */
  settled(): Promise<void>;
}

/** One recorded change as stored (see changes.ts). */
export interface ChangeRow {
  id: number;
  at: number;
  class: string;
  oid: number;
  ns: string;
  props: string;
  created: number;
  destroyed: number;
}

/** The change log's table. */
export interface ChangeRows {
  /** Returns the new row's id. */
  insert(at: number, className: string, oid: number, ns: string, props: string, created: boolean, destroyed: boolean): number;
  after(from: number, to: number, limit: number): ChangeRow[];
  /** The highest id ever handed out (0: none). */
  sequence(): number;
  oldest(): number | null;
  /** The newest id below `below` older than `before` (ms), or null. */
  ageBound(below: number, before: number): number | null;
  /** Deletes every row with id <= `through`; returns how many. */
  prune(through: number): number;
}

/** What the default fill of a schema extension needs (backfill.ts, through async-port.ts AsyncDefaultWrites). */
export interface DefaultRows {
  /** Drops the rows of a property that became derived. */
  dropProperty(className: string, ns: string, name: string): void;
  /** The oid `offset` places after `from` among the class's objects, or undefined. */
  windowEnd(className: string, from: number, offset: number): number | undefined;
  /** Stores the default row of the objects with `from < oid <= to` that lack it; returns how many. */
  fill(className: string, ns: string, name: string, value: string, from: number, to: number): number;
}

/** A device connection event (the Meeting API's device logs). */
export interface DeviceEvent {
  /** Milliseconds since the epoch. */
  at: number;
  event: string;
  /** The server that recorded it. */
  host: string;
  /** The device's address at that time. */
  remote: string;
}

/** The device events table: append-only, capped per device. Writes inside a Writer transaction. */
export interface DeviceEventRows {
  /** Appends one event and drops the device's oldest beyond `keep`. */
  append(deviceOid: number, e: DeviceEvent, keep: number): void;
  /** Newest first, at most `limit`. */
  list(deviceOid: number, limit: number): DeviceEvent[];
  latest(deviceOid: number): DeviceEvent | undefined;
  /** Deletes every event of a device; returns how many. */
  purge(deviceOid: number): number;
  /** Rows in the table (metrics). */
  count(): number;
  /** Events older than `at` (ms), of every device. */
  countBefore(at: number): number;
  deleteBefore(at: number): number;
  /** Every event, oldest first, read in chunks (an export). */
  each(): Iterable<DeviceEvent & { device_oid: number }>;
  /** Adds one event as it was (an import): no trimming. */
  add(deviceOid: number, e: DeviceEvent): void;
}

/** A session, LOGIN token or bearer grant as stored, found by the SHA-256 of its secret. */
export interface GrantRecord {
  digest: Buffer;
  kind: 'session' | 'token';
  user_oid: number;
  user_name: string;
  origin: string;
  bound_to: string | null;
  admin: number;
  owner: string | null;
  issued_at: number;
  expires_at: number;
  lifetime_ms: number;
  sliding: number;
}

/** The grants table (src/auth/grant-rows.ts reads and writes it through the Writer). */
export interface GrantRows {
  /** Inserts or replaces the grant of the same digest. */
  put(row: GrantRecord): void;
  get(digest: Buffer): GrantRecord | undefined;
  /** An owner's grants expiring after `now`, soonest first. */
  ofOwner(owner: string, now: number): GrantRecord[];
  remove(digest: Buffer): void;
  /** Every grant of a user but the one of digest `keep`; returns how many went. */
  removeUser(userOid: number, keep: Buffer | undefined): number;
  /** Moves a grant's expiry later (never earlier). */
  extend(digest: Buffer, expires: number): void;
  /** Grants expired at `now`. */
  expired(now: number): number;
  removeExpired(now: number): number;
}

/** A stored write-only value (a password hash) as an export carries it. */
export interface CredentialRecord {
  oid: number;
  name: string;
  hash: string;
  updated_at: number;
}

/** What `cced export` and `cced import` read and write beyond the Store API (src/store/transfer.ts). */
export interface TransferRows {
  /** Runs `fn` on one consistent state of the store (a read transaction). */
  snapshot<R>(fn: () => R): R;
  /** Every object, in oid order, read in chunks. */
  objects(): Iterable<{ oid: number; className: string }>;
  /** Every stored property of an object, ordered by namespace and name. */
  properties(oid: number): { ns: string; name: string; value: string }[];
  /** Every stored credential, ordered by oid and name, read in chunks. */
  credentials(): Iterable<CredentialRecord>;
  putCredential(c: CredentialRecord): void;
}

/** The layout of the database: migrations run so far, and how many this cced knows. */
export interface Layout {
  version: number;
  known: number;
}

/** A backend: everything above, on one database. */
export interface StoreBackend {
  readonly objects: ObjectRows;
  readonly tx: Transactions;
  readonly changes: ChangeRows;
  readonly defaults: DefaultRows;
  readonly events: DeviceEventRows;
  readonly grants: GrantRows;
  readonly transfer: TransferRows;
  /** Where searches with patterns run off the event loop; none: on it (a database without a file). */
  readonly searches?: SearchThreads;
  layout(): Layout;
  /** Runs the migrations not run yet; returns how many ran. */
  migrate(): number;
  /** Closes the connection at once; resolves once the threads reading the file have closed theirs too. */
  close(): Promise<void>;
  /** The same database behind the asynchronous port: the store's reads outside the Writer's transaction. */
  readonly async: AsyncStoreBackend;
  /** A handle over the connection the Writer's transactions run on, for the one it has just begun; end() retires it. */
  writerHandle(): TxHandle & { end(): void };
}
