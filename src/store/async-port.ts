/**
 * The store's asynchronous port: the capabilities of port.ts (objects,
 * properties, credentials, settings, finds, the change log, grants, device
 * events) with Promise results, shaped for a network database.
 *
 * A transaction is a handle: `transaction(fn)` hands `fn` a TxHandle through
 * which the mutation reads and writes, so a pooled connection is held for
 * exactly one transaction and released when it ends; reads made through the
 * backend itself (outside a transaction) take any connection of the pool.
 * `fn` may be run more than once (a backend that detects a conflict at commit
 * retries it): it must not have effects outside the handle until it returns.
 *
 * Backends: src/store/postgres/ (PostgreSQL, SERIALIZABLE with retry) and
 * src/store/sqlite/async-adapter.ts (the synchronous SQLite backend, its
 * results wrapped). docs/architecture.md, "The store and its backends".
 */
import { createHash } from 'node:crypto';
import type { Schema } from '../schema/types.js';
import type { ChangeRow, CredentialRecord, DeviceEvent, FindSpec, GrantRecord, Layout, PageStart, PatternTest } from './port.js';

/** A compiled find (port.ts FindRun), each page a Promise. */
export interface AsyncFindRun {
  all(): Promise<number[]>;
  withSortValues(): Promise<{ oid: number; sortvalue: string | null }[]>;
  candidatesBeyond(n: number): Promise<boolean>;
  windowEnd(from: number, offset: number): Promise<number | undefined>;
  range(from: number, to: number, limit: number): Promise<number[]>;
}

/** The reads of port.ts ObjectRows. */
export interface AsyncObjectReads {
  classOf(oid: number): Promise<string | undefined>;
  classAndValues(oid: number, ns: string): Promise<{ className: string; values: Record<string, unknown> } | undefined>;
  values(oid: number, ns: string): Promise<Record<string, string>>;
  classesOf(oids: readonly number[]): Promise<{ oid: number; className: string }[]>;
  namespacesOf(oids: readonly number[]): Promise<[number, string, Record<string, unknown>][]>;
  value(oid: number, ns: string, name: string): Promise<string | undefined>;
  firstWith(className: string, ns: string, name: string, value: string, fields: readonly string[]): Promise<{ oid: number; values: Record<string, unknown> } | undefined>;
  holderOf(className: string, ns: string, name: string, value: string, except: number): Promise<number | undefined>;
  credential(oid: number, name: string): Promise<string | undefined>;
  setting(key: string): Promise<string | undefined>;
  count(): Promise<number>;
  classCount(className: string): Promise<number>;
  find(spec: FindSpec): AsyncFindRun;
  pageCount(className: string, by: string, prefix: string): Promise<number>;
  pageRows(className: string, by: string, prefix: string, start: PageStart, limit: number): Promise<{ oid: number; value: string }[]>;
}

/** Reads and writes of objects, inside a transaction. */
export interface AsyncObjectWrites extends AsyncObjectReads {
  /**
   * A new object; its oid is never handed out again, by any node, even if the transaction rolls back. With
   * `at`, that oid (no object holds it; the counter is moved past it by reserveOids: an import's).
   */
  insertObject(className: string, now: number, at?: number): Promise<number>;
  touch(oid: number, now: number): Promise<void>;
  /** Throws UniqueViolation when a unique property (enforceUnique) would be held twice. */
  putValue(oid: number, ns: string, name: string, className: string, value: string): Promise<void>;
  /**
   * A heartbeat's write: last_seen and ip_address of the main namespace (neither unique), in one call where the
   * backend can (SQLite: the narrow heartbeat table; PostgreSQL: one round trip), and the object touched at `now` as a
   * putValue and touch would. Returns last_seen as it was before.
   */
  putBeat(oid: number, className: string, lastSeen: string, ipAddress: string, now: number): Promise<string | undefined>;
  deleteObject(oid: number): Promise<void>;
  putCredential(oid: number, name: string, hash: string, now: number): Promise<void>;
  putSetting(key: string, value: string | undefined): Promise<void>;
  /**
   * One conditional update: the stored whole number is lowered by one if it is above zero (a flash token).
   * Returns what is left, or undefined when nothing was taken (zero, no row, not a number).
   */
  decrement(oid: number, ns: string, name: string): Promise<number | undefined>;
  /**
   * One conditional update: the value becomes `value` only if it is `expected` now (a missing row counts as
   * ''); a claim or a lease. Returns whether it changed. UniqueViolation as putValue.
   */
  compareAndSet(oid: number, ns: string, name: string, className: string, expected: string, value: string): Promise<boolean>;
}

/** The reads of port.ts ChangeRows. */
export interface AsyncChangeReads {
  after(from: number, to: number, limit: number): Promise<ChangeRow[]>;
  sequence(): Promise<number>;
  oldest(): Promise<number | null>;
  ageBound(below: number, before: number): Promise<number | null>;
  /**
   * What the oid -> class memory must forget (Store.className on a shared database): the log's position now
   * (the highest committed id, as sequence()) and the oids destroyed by the changes after `from` up to it, in
   * one state; `complete` is false when rows after `from` were pruned (or `from` is undefined: no position yet).
   */
  destroyedSince?(from: number | undefined): Promise<{ through: number; oids: number[]; complete: boolean }>;
}

export interface AsyncChangeWrites extends AsyncChangeReads {
  insert(at: number, className: string, oid: number, ns: string, props: string, created: boolean, destroyed: boolean): Promise<number>;
  prune(through: number): Promise<number>;
  /**
   * A batch's rows in one call (PostgreSQL: one statement, so the change log's lock is held for it and the
   * COMMIT only, not for a round trip per row). Returns their ids, ascending, in the order given.
   */
  insertMany(rows: readonly NewChange[]): Promise<number[]>;
  /**
   * Where a backend can (PostgreSQL): a row the database keeps in this transaction, not this process, and
   * inserts in commit order with the COMMIT, the change log's lock taken then only: a bulk transaction's
   * rows (changes.ts), a million of them, without holding the lock, and every other node's writes, for the
   * whole transaction.
   */
  insertHeld?(row: NewChange): Promise<void>;
  /**
   * Where a backend can: the rows go in the COMMIT's own message (no ids returned), so the change log's lock
   * (PostgreSQL: commit order across nodes) is held for the server's work only, never across a round trip
   * to this process, whose event loop may be busy serving others.
   */
  insertAtCommit?(rows: readonly NewChange[]): void;
}

/** One change row to insert (insertMany). */
export interface NewChange {
  at: number;
  className: string;
  oid: number;
  ns: string;
  props: string;
  created: boolean;
  destroyed: boolean;
}

/** The reads of port.ts GrantRows. */
export interface AsyncGrantReads {
  get(digest: Buffer): Promise<GrantRecord | undefined>;
  ofOwner(owner: string, now: number): Promise<GrantRecord[]>;
  expired(now: number): Promise<number>;
}

/**
 * The setting naming the node that holds a session's BEGIN (src/cluster/shared-begins.ts): this prefix and the
 * hex digest of the session's secret. It belongs to the grant: removing a grant's row removes it (PostgreSQL),
 * so a session that ended with its BEGIN open leaves no row behind.
 */
export const BEGIN_HOLDER_PREFIX = 'begin:';

export interface AsyncGrantWrites extends AsyncGrantReads {
  put(row: GrantRecord): Promise<void>;
  remove(digest: Buffer): Promise<void>;
  removeUser(userOid: number, keep: Buffer | undefined): Promise<number>;
  extend(digest: Buffer, expires: number): Promise<void>;
  removeExpired(now: number): Promise<number>;
}

/** The reads of port.ts DeviceEventRows. */
export interface AsyncEventReads {
  list(deviceOid: number, limit: number): Promise<DeviceEvent[]>;
  latest(deviceOid: number): Promise<DeviceEvent | undefined>;
  count(): Promise<number>;
  countBefore(at: number): Promise<number>;
}

export interface AsyncEventWrites extends AsyncEventReads {
  append(deviceOid: number, e: DeviceEvent, keep: number): Promise<void>;
  purge(deviceOid: number): Promise<number>;
  deleteBefore(at: number): Promise<number>;
}

/**
 * What the default fill of a schema extension reads and writes (src/store/backfill.ts), inside a transaction:
 * the rows a property added to the schema later needs for the objects made before it.
 */
export interface AsyncDefaultWrites {
  /** Drops the rows of a property that became derived. */
  dropProperty(className: string, ns: string, name: string): Promise<void>;
  /** The oid `offset` places after `from` among the class's objects, or undefined. */
  windowEnd(className: string, from: number, offset: number): Promise<number | undefined>;
  /** Stores the default row of the objects with `from < oid <= to` that lack it (one statement); returns how many. */
  fill(className: string, ns: string, name: string, value: string, from: number, to: number): Promise<number>;
}

/** What a mutation reads and writes through: one connection, one transaction. Unusable once it ended. */
export interface TxHandle {
  readonly objects: AsyncObjectWrites;
  readonly changes: AsyncChangeWrites;
  readonly grants: AsyncGrantWrites;
  readonly events: AsyncEventWrites;
  /** The default fill's rows (backfill.ts): a start's plan and its windows, never a request's. */
  readonly defaults: AsyncDefaultWrites;
  /** Runs `fn` in a savepoint: if it throws, its writes are undone and the error goes on; the transaction stays usable. */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
  /** What an import writes beyond the objects (`cced import`: credentials, device events, oids kept). */
  readonly transfer: AsyncTransferWrites;
}

export interface TransactionOptions {
  /** How many times `fn` may run when the database reports a conflict (default 10); then TransactionConflict. */
  attempts?: number;
}

export interface AsyncStoreBackend {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Whether two transactions of this process can be open at once. SQLite: no (one writer; the adapter queues
   * them, so they never conflict); PostgreSQL: yes (each on its own connection, conflicts retried).
   */
  readonly concurrentTransactions: boolean;
  readonly objects: AsyncObjectReads;
  readonly changes: AsyncChangeReads;
  readonly grants: AsyncGrantReads;
  readonly events: AsyncEventReads;
  /**
   * The matcher `~` runs (the store's linear-time engine); set once, before any find. `current` gives the
   * matcher of the search now current: rows that come back later are tested with the one of their search.
   */
  useMatcher(test: PatternTest, current?: () => PatternTest): void;
  /** Commits what `fn` wrote if it returns, rolls it all back if it throws (the error goes on). */
  transaction<T>(fn: (tx: TxHandle) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Makes the database refuse a second holder of each unique property of the schema (and no other). */
  enforceUnique(schema: Schema): Promise<void>;
  layout(): Promise<Layout>;
  /** Runs the migrations not run yet; returns how many ran. */
  migrate(): Promise<number>;
  close(): Promise<void>;
  /**
   * A number that moves whenever another backend on this database (another node, another process) may have
   * committed a write; this backend's own commits do not move it (the store counts those itself). One
   * statement: meant to be read once per event-loop turn. Ordering: once another backend's write
   * transaction has returned (its write acknowledged), a read of this number that starts afterwards answers
   * a value it never answered before. SQLite: data_version; PostgreSQL: docs/postgresql.md.
   */
  externalVersion(): Promise<number>;
  /**
   * Runs `fn` only if no other backend on this database (any node) runs a job of this `name` now: a
   * background job (a sweeper, pruning) once across nodes. `lost` aborts if the hold ends while `fn` runs
   * (PostgreSQL: the lock's connection died, so another node may start the job).
   */
  tryExclusive<T>(name: string, fn: (lost: AbortSignal) => Promise<T>): Promise<Exclusive<T>>;
  /** Runs `fn` on one consistent state of the store, read only (an export): commits made meanwhile are not seen. */
  snapshot<T>(fn: (s: SnapshotHandle) => Promise<T>): Promise<T>;
}

/** What tryExclusive did: ran `fn` (its result), or not, because another holds the job. */
export type Exclusive<T> = { ran: true; value: T } | { ran: false };

/** What an export reads (port.ts TransferRows), each in chunks: an export never holds the whole store. */
export interface AsyncTransferReads {
  /** Every object, in oid order. */
  objects(): AsyncIterable<{ oid: number; className: string }>;
  /** Every stored property of an object, ordered by namespace and name (bytes). */
  properties(oid: number): Promise<{ ns: string; name: string; value: string }[]>;
  /** Every stored credential, ordered by oid and name. */
  credentials(): AsyncIterable<CredentialRecord>;
  /** Every device event, oldest first. */
  events(): AsyncIterable<DeviceEvent & { device_oid: number }>;
}

/** What an import writes beyond the objects, inside its transaction. */
export interface AsyncTransferWrites {
  putCredential(c: CredentialRecord): Promise<void>;
  /** One event as it was: no trimming. */
  addEvent(deviceOid: number, e: DeviceEvent): Promise<void>;
  /** Keeps every oid up to `highest` from being handed out again, by any node, even if the transaction rolls back. */
  reserveOids(highest: number): Promise<void>;
}

/** One read-only state of the store (AsyncStoreBackend.snapshot). Unusable once it ended. */
export interface SnapshotHandle {
  readonly objects: AsyncObjectReads;
  readonly transfer: AsyncTransferReads;
}

/** A write would give a unique property's value a second holder: the database refused it. */
export class UniqueViolation extends Error {
  constructor(
    readonly className: string,
    readonly ns: string,
    readonly property: string,
  ) {
    super(`${className}.${ns === '' ? '' : `${ns}.`}${property}: the value is held by another object`);
    this.name = 'UniqueViolation';
  }
}

/** A transaction kept conflicting with concurrent ones (from this node or another) and was given up. */
export class TransactionConflict extends Error {
  constructor(readonly attempts: number) {
    super(`the transaction conflicted with concurrent ones ${attempts} times and was not applied`);
    this.name = 'TransactionConflict';
  }
}

/** The unique properties of a schema: where the database must refuse a second holder of a non-empty value. */
export function uniqueProperties(schema: Schema): { className: string; ns: string; name: string }[] {
  const out: { className: string; ns: string; name: string }[] = [];
  for (const cls of schema.classes.values()) {
    for (const ns of cls.namespaces.values()) {
      for (const p of ns.properties.values()) if (p.unique && !p.derived && !p.writeOnly) out.push({ className: cls.name, ns: ns.name, name: p.name });
    }
  }
  return out;
}

/** The name of the index that holds one unique property (a digest: class, namespace and property names may be long). */
export function uniqueIndexName(u: { className: string; ns: string; name: string }): string {
  return `props_unique_${createHash('sha256').update(`${u.className}\0${u.ns}\0${u.name}`).digest('hex').slice(0, 20)}`;
}
