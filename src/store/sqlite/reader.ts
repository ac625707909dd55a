/**
 * Reads while the Writer's transaction is open (port.ts ReadSnapshot): the
 * writer's connection holds writes no one else may see yet, so every read
 * made meanwhile outside the transaction's handle goes to a second,
 * read-only connection to the same file, which sees the last committed state
 * (a WAL reader). Each part of the backend (objects, grants, changes...) is
 * built on both connections, and the part the rest of the store holds is a
 * router that sends each call to one of them: the writer's, except while a
 * batch is open (the handle holds the writer's own parts, never routed).
 *
 * A write routed to the reader fails (the connection is read-only): nothing
 * may write outside the Writer while its transaction is open. A memory
 * database has no second connection: there is no router then, and the
 * Writer does not pause (a long batch runs in one go, as before).
 */
import Database from 'better-sqlite3';
import type { Db } from './db.js';

/** Whether reads go to the reader connection now. */
export interface Routing {
  paused: boolean;
}

/** What to do with a member instead of routing it. */
export interface RouteRules {
  /** Always the writer's (the transaction state, the writer's data_version). */
  pinned?: readonly string[];
  /** Called on both (set-up that each connection needs). */
  both?: readonly string[];
  /** Methods returning an object whose methods must be routed too, call by call (a compiled find). */
  nested?: readonly string[];
}

/** The member names of an object: its own and its prototypes' (a class instance's methods and getters). */
function membersOf(o: object): Map<string, PropertyDescriptor> {
  const out = new Map<string, PropertyDescriptor>();
  for (let p: object | null = o; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name !== 'constructor' && !out.has(name)) out.set(name, Object.getOwnPropertyDescriptor(p, name)!);
    }
  }
  return out;
}

type Callable = Record<string, (...args: unknown[]) => unknown>;

/**
 * `writer` as seen through the routing: each method called on `reader` while
 * paused, on `writer` otherwise (see RouteRules); getters and other members
 * read the writer's. Built once per part: a routed call costs one check.
 */
export function routed<T extends object>(writer: T, reader: T, routing: Routing, rules: RouteRules = {}): T {
  const w = writer as unknown as Callable;
  const r = reader as unknown as Callable;
  const out: Record<string, unknown> = {};
  for (const [name, d] of membersOf(writer)) {
    if (typeof d.value !== 'function') {
      Object.defineProperty(out, name, { get: () => w[name], enumerable: true });
      continue;
    }
    // Bound once: a call then loads no property by a computed name (a megamorphic look-up on every call).
    const onWriter = w[name]!.bind(w);
    const onReader = r[name]!.bind(r);
    if (rules.pinned?.includes(name)) out[name] = onWriter;
    else if (rules.both?.includes(name)) {
      out[name] = (...args: unknown[]) => {
        onReader(...args);
        return onWriter(...args);
      };
    } else if (rules.nested?.includes(name)) {
      // Compiled on the connection in use when each of its methods is called: one may be called after a pause began.
      out[name] = (...args: unknown[]) => {
        let compiled: object | undefined;
        return routedLazily(onWriter(...args) as object, () => (compiled ??= onReader(...args) as object), routing);
      };
    } else out[name] = (...args: unknown[]) => (routing.paused ? onReader : onWriter)(...args);
  }
  return out as T;
}

/** Like routed(), with the reader's object made only when first needed. */
function routedLazily<T extends object>(writer: T, reader: () => T, routing: Routing): T {
  const w = writer as unknown as Callable;
  const out: Record<string, unknown> = {};
  for (const [name, d] of membersOf(writer)) {
    if (typeof d.value !== 'function') continue;
    const onWriter = w[name]!.bind(w);
    out[name] = (...args: unknown[]) => (routing.paused ? (reader() as unknown as Callable)[name]!(...args) : onWriter(...args));
  }
  return out as T;
}

/**
 * Its page cache, KiB (negative: SQLite's unit for a size in KiB): SQLite's
 * own default, not the 16 MiB better-sqlite3 builds in. It serves only the
 * reads made while a long batch is paused (a heartbeat's first credential
 * look-up, a GET during a big COMMIT), whose pages the writer's cache or the
 * system's page cache (one pread away) mostly holds; at 16 MiB a fleet's
 * first beats filled it with index pages read once, ~14 MiB of RSS more.
 */
export const READER_CACHE_KIB = 2000;

/** The read-only second connection to a database file (WAL mode lets it read while the writer holds a transaction). */
export function openReader(file: string): Db {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = -${READER_CACHE_KIB}`);
  return db;
}
