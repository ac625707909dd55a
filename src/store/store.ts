/**
 * The object store: objects with an oid and a class, a main namespace '' and
 * named namespaces, each a set of string properties, all checked against the
 * schema (types, uniqueness, ACLs). Commands and facades both come through
 * here, so every rule is written once. Reads are asynchronous (the port's,
 * async-port.ts); writes run inside a transaction opened by the Writer, through
 * `store.at(w)`: the same Store reading and writing through that transaction's
 * handle (see StoreTx).
 *
 * Backend-free: the rules (canonicalise, validate, ACLs, references, hooks)
 * and the caches live here; the rows live behind the port (port.ts), whose
 * SQLite implementation is sqlite/.
 */
import { RevisionMap } from './revision-map.js';
import { BoundedMap } from './bounded-map.js';
import { OidClassTable } from './oid-classes.js';
import type { FindSpec, FindTerm, ObjectRows, PageStart, SearchThreads, StoreBackend } from './port.js';
import { UniqueViolation, type AsyncChangeReads, type AsyncFindRun, type AsyncGrantReads, type AsyncObjectReads, type AsyncObjectWrites } from './async-port.js';
import type { WriteTx } from './writer.js';
import type { AclSubject, ClassDef, NamespaceDef, PropertyDef, Schema } from '../schema/types.js';
import { decodeArray, holdsNul, toCceString, whyInvalid } from '../schema/values.js';
import {
  WHY_INVALID_DATA,
  WHY_NOT_UNIQUE,
  WHY_UNKNOWN_ATTR,
  badData,
  badParameters,
  permissionDenied,
  unknownClass,
  unknownNamespace,
  unknownObject,
} from '../errors.js';
import { compareBy, type SortType } from './sort.js';
import { ClientPatterns, NotHere, type SearchTime } from './safe-regex.js';
import { derivedValue, underive, underivedCriterion } from './derived.js';
import { checkReferences } from './references.js';
import { BEAT_ADDRESS, BEAT_CLOCK, BEAT_PROPERTIES, narrowBeat } from './beat-write.js';
import { settledReads } from './settled-reads.js';
import { ConcurrentHost } from './concurrent-host.js';

/** The identity behind internal writes (bootstrap, maintenance): passes every ACL. */
export const SYSTEM: AclSubject = Object.freeze({ oid: 0, admin: true, capabilities: [] });

/** A write-only value (a password) already hashed outside the transaction; `null` stores nothing. */
export class Hashed {
  constructor(readonly hash: string | null) {}
}

export interface AuditEntry {
  op: 'CREATE' | 'SET' | 'DESTROY';
  oid: number;
  class: string;
  ns?: string;
  /** Names only: values may be secret. */
  props?: string[];
  by: number;
  /** A routine write (a heartbeat): its audit line is at debug level. */
  routine?: true;
}

/** What a write listener may need beyond the audit entry. */
export interface WriteDetail {
  /** Who wrote (a Caller, when a door's caller wrote it). */
  subject: AclSubject;
  /** CREATE and SET: the canonical values written (write-only ones apart). */
  values?: ReadonlyMap<string, string>;
  /** CREATE and SET: the write-only properties given a new hash (name -> hash). */
  hashed?: ReadonlyMap<string, string>;
}

/**
 * Told of every write right after it is made, inside its transaction (before
 * the audit line): a listener that throws fails the write, which is rolled back.
 */
export type WriteListener = (e: AuditEntry, detail: WriteDetail, tx: StoreTx) => void | Promise<void>;

/**
 * Told of a DESTROY inside it, before the object's rows go, with its stored
 * main-namespace values: a cascade can destroy what hangs off the object in
 * the same transaction; if it throws, the DESTROY fails.
 */
export type DestroyListener = (gone: { subject: AclSubject; oid: number; values: Record<string, string> }, tx: StoreTx) => void | Promise<void>;

/**
 * Hears a SET that changed one main-namespace property (see watchValue), inside
 * that write and after it, with the value before: a rename that other objects
 * refer to can carry itself to them in the same transaction, whatever the
 * path (/v2/cce, a BEGIN queue, a facade). It may write; if it throws, the SET
 * fails and is rolled back with everything it did.
 */
export type ValueListener = (change: { subject: AclSubject; oid: number; from: string; to: string }, tx: StoreTx) => void | Promise<void>;

/** A write to check before it runs (Store.checkWrite). */
export type WriteCheck =
  | { op: 'CREATE'; className: string; values: Record<string, unknown> }
  | { op: 'SET'; target: number | ClassDef; ns: string; values: Record<string, unknown> }
  | { op: 'DESTROY'; target: number | ClassDef };

export interface FindCriterion {
  ns: string;
  name: string;
  op: '=' | '~';
  value: string;
}

export interface FindQuery {
  criteria: FindCriterion[];
  sorttype?: SortType;
  sortprop?: { ns: string; name: string };
}

/** An entry of a page()'s order: the ordering property's value and the object's oid. */
export interface PageMark {
  value: string;
  oid?: number;
}

/** Where a page of find results starts: after an oid (oid order), or past a count of sorted matches. */
export type FindCursor = { oid: number } | { skip: number };

export interface FindBounds {
  limit: number;
  /** Candidates examined at most, in oid order. */
  maxScan: number;
  /** Candidates a sorted query may sort at most; more is refused (403) rather than sorted on the event loop. */
  maxSort?: number;
  after?: FindCursor;
}

export interface FindPage {
  oids: number[];
  /** Cut short: resume() continues it. */
  more: boolean;
  /** The cursor continuing after the first `i` oids of this page (i = its length: after the whole page). */
  resume(i: number): FindCursor;
}

interface FindPlan {
  subject: AclSubject;
  spec: FindSpec;
  run: AsyncFindRun;
  /** A search with a pattern, and its time on this thread (derived and default values are tested here). */
  time?: SearchTime;
  readable(oid: number): boolean;
  sort?: { prop: PropertyDef; derived: PropertyDef['derived']; type: SortType };
}

export interface ObjectView {
  cls: ClassDef;
  ns: NamespaceDef;
  oid: number;
  /** Readable properties, CCE strings; write-only ones are ''. */
  values: Record<string, string>;
}

/** Page totals remembered (one per class, order and prefix counted lately). */
const MAX_PAGE_TOTALS = 256;
/** Candidates per range query of a bounded find: a window's bound is one short index walk. */
const FIND_WINDOW = 16_384;
/**
 * A page of a search with a pattern runs on the event loop when its class (or
 * the driving `=`) has at most this many candidates and its tests cost at most
 * INLINE_STEPS worst-case steps (program size x value length, 40-170 ns each:
 * under ~10 ms); any other page runs on a search thread (sqlite/search-threads.ts).
 * An ordinary search beside an exact criterion stays here: no thread hop.
 */
const INLINE_CANDIDATES = 1024;
const INLINE_STEPS = 50_000;
/** Page starts remembered for offset paging: a few hundred bytes each. */
const MAX_PAGE_MARKS = 1024;
/** A deep offset is walked this many entries at a time (see walkTo): a few milliseconds of the index each. */
const PAGE_WALK_STEP = 50_000;
/** Namespaces whose stored values are remembered (see storedValues()): a few MiB at most. */
const MAX_STORED_VIEWS = 4096;
/**
 * Oids whose class is remembered (see className()): 6 bytes a slot (oid-classes.ts), a slot touched only
 * once an oid falling in it is read (12 MiB reserved, ~6 MiB resident for a million devices).
 */
const MAX_OID_CLASSES = 2 ** 21;
const MAX_SHAPES_PER_NAMESPACE = 64;
/** References are checked when the write runs (see checkWrite). */
const NO_REFERENCES = (): Promise<void> => Promise.resolve();
const NOTHING_STORED: Record<string, unknown> = Object.freeze({});

/**
 * putValue, with the database's refusal of a second holder (another node's write that committed between
 * this write's uniqueness check and its row) answered as the check itself answers: `302 BAD DATA <oid> <key>
 * "[[base-cce.notUnique]]"`, `label` the oid the check names (0 for a CREATE).
 */
async function putUnique(objects: AsyncObjectWrites, label: number, oid: number, ns: string, name: string, className: string, value: string): Promise<void> {
  try {
    await objects.putValue(oid, ns, name, className, value);
  } catch (err) {
    if (err instanceof UniqueViolation) throw badData(label, name, WHY_NOT_UNIQUE);
    throw err;
  }
}

/** When a read was made, for deciding whether its answer may be cached (see Store.readStamp()). */
export type ReadStamp = number | undefined;

interface StoredView {
  cls: ClassDef;
  values: Record<string, unknown>;
}

/** Where the Store reads (and, in a transaction, writes): the shared reads, or a transaction's handle. */
interface Source {
  rows: AsyncObjectReads;
  /** The transaction (StoreTx): absent for the shared Store, which never writes. */
  w?: WriteTx;
}

/**
 * The Store seen from inside one transaction (`store.at(w)`): every method of
 * the Store, reading through the transaction's handle (its own writes
 * included), and the writes, which only it may make. The same rules and
 * caches as the Store's: it is an object whose prototype is the Store, with
 * only its source of rows of its own (frozen, so no state of the Store can be
 * shadowed on it by mistake). Used by the mutation it was made for, while
 * that mutation runs.
 */
export type StoreTx = Store & TxWrites & { readonly w: WriteTx };

/** The writes of a StoreTx (only a transaction writes). */
export interface TxWrites {
  /**
   * Creates an object: main namespace from `values` over the defaults, named namespaces at their defaults.
   * `at`: at that oid, which no object holds (an import into an empty store keeps its export's oids).
   */
  create(subject: AclSubject, className: string, given: Record<string, unknown>, options?: { at?: number }): Promise<number>;
  /**
   * Sets properties of one namespace; all-or-nothing: every key is checked before anything is written.
   * `routine`: a write repeated at machine rate (heartbeats), audited at debug level.
   */
  set(subject: AclSubject, oid: number, ns: string, given: Record<string, unknown>, options?: { routine?: boolean }): Promise<void>;
  /**
   * Destroys an object and its rows, after its DestroyListeners (cascades) ran;
   * an object of a soft-deleted class is only marked deleted.
   */
  destroy(subject: AclSubject, oid: number): Promise<void>;
  /** Stores a setting (undefined: removes it). */
  putSetting(key: string, value: string | undefined): Promise<void>;
  /**
   * A heartbeat: `set(subject, oid, '', { last_seen, ip_address }, { routine: true })` as one narrow write
   * (beat-write.ts), with the same checks, records and answers. Returns last_seen as it was before.
   */
  beat(subject: AclSubject, oid: number, lastSeen: string, ipAddress: string): Promise<string | undefined>;
}

export class Store {
  /** The synchronous answers (port.ts ObjectRows on SQLite; ConcurrentHost on PostgreSQL). */
  private readonly rows: Pick<ObjectRows, 'useMatcher' | 'inTransaction' | 'externalVersion' | 'reserveOids'>;
  /** Where this Store reads: the shared reads (at(w): a transaction's handle). */
  private readonly src: Source;
  /** Sessions, LOGIN tokens and bearer grants as stored (src/auth/grant-rows.ts), read on either backend. */
  readonly grantReads: AsyncGrantReads;
  /** FIND `~` patterns, on a linear-time engine (see safe-regex.ts). */
  private readonly patterns = new ClientPatterns();
  /** Where searches with patterns too large for the event loop run (none: on it, as a database without a file must). */
  private readonly searchThreads: SearchThreads | undefined;
  private readonly userClassNames: string[];
  private readonly secretNames: ReadonlySet<string>;

  /** Is a property of this name secret in any class (a password, a device token)? Echoes mask such values. */
  readonly isSecretName = (name: string): boolean => this.secretNames.has(name);
  private readonly writeListeners = new Set<WriteListener>();
  private readonly destroyListeners = new Map<string, Set<DestroyListener>>();
  /**
   * The highest oid this Store created, committed or not, the highest known sealed (see sealOids()), and the
   * lowest created since the last sealOids() (a mutation's own creations are at or above it).
   */
  private readonly oids = { highest: 0, sealed: 0, unsealedFrom: Infinity };
  /** class -> property -> its ValueListeners. */
  private readonly valueListeners = new Map<string, Map<string, Set<ValueListener>>>();
  /** Writes through this Store, of any class (see readStamp()). */
  private readonly writesMade = { count: 0 };
  /** Writes per class through this Store (see revision()). */
  private readonly revisions = new Map<string, number>();
  /**
   * What can change a page's total (see page()): creations and destructions
   * per class, and writes of the properties pages are ordered by, per
   * `class\0name` (only those: a heartbeat's last_seen does not move a count).
   */
  private readonly memberships = new Map<string, number>();
  private readonly pagedBy = new Set<string>();
  private readonly pageTotals = new RevisionMap<string, number>(MAX_PAGE_TOTALS);
  /** Where pages served lately start, by class, order, prefix and offset (see page()). */
  private readonly pageMarks = new RevisionMap<string, PageMark>(MAX_PAGE_MARKS);
  private readonly shapes = new WeakMap<NamespaceDef, BoundedMap<string, Record<string, string>>>();
  /**
   * oid -> class name (see className()), the external version it holds for, destructions so far, the change log
   * position read and the read of it under way (see forgetDestroyed()).
   */
  private readonly oidClasses = new OidClassTable(MAX_OID_CLASSES);
  private readonly oidClassHold: { external: number; destroys: number; logPosition?: number; reading?: Promise<void> } = { external: -1, destroys: 0 };
  /** `oid\0ns` -> stored values (see storedValues()). */
  private readonly storedViews = new RevisionMap<string, StoredView>(MAX_STORED_VIEWS);

  constructor(
    /** The rows' port: the store's own modules build on it (open.ts); nothing outside src/store does. */
    readonly backend: StoreBackend | ConcurrentHost,
    readonly schema: Schema,
    /** Told of every write inside its transaction, after its listeners (open.ts: the audit line, once committed). */
    private readonly audit: (e: AuditEntry, w: WriteTx) => void = () => {},
  ) {
    if (backend instanceof ConcurrentHost) {
      // Reads outside a transaction are on other connections: they see committed state only.
      this.rows = backend;
      this.src = { rows: backend.async.objects };
    } else {
      this.rows = backend.objects;
      // Without a ReadSnapshot (a memory database) a read outside the Writer's transaction waits for it to end.
      this.src = { rows: backend.tx.snapshot ? backend.async.objects : settledReads(backend.async.objects, backend.tx) };
    }
    this.grantReads = backend.async.grants;
    this.searchThreads = backend.searches;
    this.rows.useMatcher((pattern, value) => this.patterns.test(pattern, value), () => this.patterns.bound());
    this.userClassNames = [...schema.classes.keys()].sort();
    const secrets = new Set<string>();
    for (const cls of schema.classes.values()) for (const ns of cls.namespaces.values()) for (const p of ns.properties.values()) if (p.secret) secrets.add(p.name);
    this.secretNames = secrets;
  }

  // ---- schema look-ups -------------------------------------------------

  classes(): string[] {
    return this.userClassNames;
  }

  classDef(name: string): ClassDef {
    const cls = this.schema.classes.get(name);
    if (!cls) throw unknownClass(name);
    return cls;
  }

  namespaceDef(cls: ClassDef, ns: string): NamespaceDef {
    const def = cls.namespaces.get(ns);
    if (!def) throw unknownNamespace(ns);
    return def;
  }

  /** The property `ns.name` of a class, or 302 unknownAttr. */
  propertyDef(cls: ClassDef, ns: string, name: string, oid: number | string = 0): PropertyDef {
    const prop = this.namespaceDef(cls, ns).properties.get(name);
    if (!prop) throw badData(oid, ns ? `${ns}.${name}` : name, WHY_UNKNOWN_ATTR);
    return prop;
  }

  // ---- transactions ----------------------------------------------------

  /** This Store inside the transaction of `w`: reads through its handle, and writes (see StoreTx). */
  at(w: WriteTx): StoreTx {
    // One view per transaction: a batch of beats asks for it once a beat.
    const known = this.txViews.get(w);
    if (known !== undefined) return known;
    const view = Object.create(this) as TxWrites & { src: Source; w: WriteTx };
    view.src = { rows: w.objects, w };
    view.w = w;
    view.create = (...args) => this.createIn.apply(view, args);
    view.set = (...args) => this.setIn.apply(view, args);
    view.destroy = (...args) => this.destroyIn.apply(view, args);
    view.putSetting = (...args) => this.putSettingIn.apply(view, args);
    view.beat = (...args) => this.beatIn.apply(view, args);
    const tx = Object.freeze(view) as unknown as StoreTx;
    this.txViews.set(w, tx);
    return tx;
  }

  private readonly txViews = new WeakMap<WriteTx, StoreTx>();

  /** The transaction this Store writes in: only a StoreTx writes. */
  private writes(): { w: WriteTx; objects: AsyncObjectWrites } {
    const w = this.src.w;
    if (w === undefined) throw new Error('a store write outside a transaction: a mutation writes through store.at(w)');
    return { w, objects: w.objects };
  }

  // ---- reads -----------------------------------------------------------

  /** The class of an existing object, or 300. */
  async objectClass(oid: number): Promise<ClassDef> {
    const name = await this.className(oid);
    if (name === undefined) throw unknownObject(oid);
    return this.classDef(name);
  }

  async exists(oid: number): Promise<boolean> {
    return (await this.className(oid)) !== undefined;
  }

  /**
   * The class name of an object, remembered: an object never changes class, so
   * only its destruction (destroy() forgets it) or another process's commit
   * (SQLite: everything forgotten; other nodes: their destructions, see
   * forgetDestroyed()) can make an entry stale; creations and destructions
   * of other objects leave it. Filled inside a mutation too (a heartbeat's
   * SET is the read at fleet scale) except for the oids it may have created
   * (its creations may be rolled back), never from a read outside it while
   * the Writer's transaction is open (the reader's committed state does not
   * yet show that transaction's destructions). Whether a read may be
   * remembered is decided when it is made, and a destruction before its
   * answer comes voids it.
   */
  private async className(oid: number): Promise<string | undefined> {
    // Oids are positive safe integers: past 2^53 a number names no object (and PostgreSQL's bigint ends at 2^63).
    if (!Number.isSafeInteger(oid) || oid < 1) return undefined;
    const hold = this.oidClassHold;
    const external = this.externalVersion();
    if (external !== hold.external) await this.forgetDestroyed(external);
    const known = this.oidClasses.get(oid);
    if (known !== undefined) return known;
    const rememberable = this.src.w === undefined ? !this.rows.inTransaction : oid < this.oids.unsealedFrom;
    const destroys = hold.destroys;
    const name = await this.src.rows.classOf(oid);
    if (name !== undefined && rememberable && destroys === hold.destroys) this.oidClasses.set(oid, name);
    return name;
  }

  /**
   * Brings the oid -> class memory up to the external version `external`. An object never changes class, so
   * only destructions by others make an entry wrong. On a shared database (where every write of another node
   * moves the version) they are read from the change log, which records every DESTROY in commit order: the
   * oids destroyed since the log position last read are forgotten, the rest kept. Everything is forgotten
   * when that is not possible (SQLite: another process, the console, wrote the file; the log pruned past the
   * position; the read failed). Calls made meanwhile share one read (`reading`).
   */
  private async forgetDestroyed(external: number): Promise<void> {
    const hold = this.oidClassHold;
    const log = this.backend instanceof ConcurrentHost ? this.backend.async.changes : undefined;
    if (log?.destroyedSince === undefined) {
      this.oidClasses.clear();
      hold.external = external;
      return;
    }
    // A read under way may have started before `external` was seen (the version only grows there): then another.
    while (hold.external < external) {
      hold.reading ??= this.readDestroyed(log as Required<typeof log>, external).finally(() => (hold.reading = undefined));
      await hold.reading;
    }
  }

  private async readDestroyed(log: Required<AsyncChangeReads>, external: number): Promise<void> {
    const hold = this.oidClassHold;
    try {
      const { through, oids, complete } = await log.destroyedSince(hold.logPosition);
      if (complete) for (const oid of oids) this.oidClasses.delete(oid);
      else this.oidClasses.clear();
      hold.logPosition = through;
    } catch {
      // Forgetting everything is always right; the next move reads from the old position again.
      this.oidClasses.clear();
    } finally {
      // A class read in flight may predate a destruction just learnt: it is not remembered.
      hold.destroys++;
      if (external > hold.external) hold.external = external;
    }
  }

  /** Like revision(), counting only creations and destructions (what can change a class's membership). */
  private readonly membershipRevision = (className: string): number => this.externalChanges() + (this.memberships.get(className) ?? 0);

  /**
   * Stores a derived value if what it was derived from is still what is
   * committed (see readStamp()).
   */
  private remember<K, V>(map: RevisionMap<K, V>, key: K, revision: number, value: V, stamp: ReadStamp): void {
    if (this.stillFresh(stamp)) map.set(key, revision, value);
  }

  /**
   * Taken just before a read whose answer may be cached: undefined while a
   * transaction is open (what is read may be a write that is then rolled
   * back, or, outside it, the state before writes the revisions already
   * count). The decision cannot wait for the answer: an `await` lets a batch
   * begin, write and commit before it comes.
   */
  readStamp(): ReadStamp {
    return this.rows.inTransaction ? undefined : this.writesMade.count + this.externalChanges();
  }

  /** May an answer read at `stamp` be cached now: no transaction was open then or is now, nothing written since? */
  stillFresh(stamp: ReadStamp): boolean {
    return stamp !== undefined && !this.rows.inTransaction && stamp === this.writesMade.count + this.externalChanges();
  }

  /** Is a write transaction open (then what is read may still be rolled back: not to be cached)? */
  inTransaction(): boolean {
    return this.rows.inTransaction;
  }

  /** Named namespaces (without the main one) of an object (digits) or a class. */
  async names(target: string): Promise<string[]> {
    const cls = /^[0-9]+$/.test(target) ? await this.objectClass(Number(target)) : this.classDef(target);
    return [...cls.namespaces.keys()].filter((n) => n !== '');
  }

  /** One namespace of an object, filtered by the subject's read ACLs. */
  async get(subject: AclSubject, oid: number, ns = ''): Promise<ObjectView> {
    const { cls, values } = await this.storedValues(oid, ns);
    const nsDef = this.namespaceDef(cls, ns);
    return { cls, ns: nsDef, oid, values: this.readable(subject, oid, nsDef, values) };
  }

  /**
   * One namespace's stored values, remembered until its class changes (any
   * write to the class, here or by another process): the objects read most
   * (callers' own User objects, device types) are written rarely, and the one
   * statement a GET needs costs more than the rest of it together (a WAL read
   * lock each time). Bounded. Never filled inside a transaction, whose writes
   * may still be rolled back; read there only while the class is unchanged,
   * that is, equal to what is committed.
   */
  private async storedValues(oid: number, ns: string): Promise<StoredView> {
    const key = `${oid}\0${ns}`;
    const known = this.storedViews.get(key, this.viewRevision);
    if (known !== undefined) return known;
    const stamp = this.readStamp();
    const row = await this.src.rows.classAndValues(oid, ns);
    if (!row) throw unknownObject(oid);
    const cls = this.classDef(row.className);
    const view: StoredView = { cls, values: row.values };
    // Only real namespaces are remembered: a caller naming made-up ones must not fill (and flush) the map.
    if (cls.namespaces.has(ns)) this.remember(this.storedViews, key, this.revision(cls.name), view, stamp);
    return view;
  }

  private readonly viewRevision = (view: StoredView): number => this.revision(view.cls.name);

  /** Main-namespace values with no ACL applied, for internal decisions (who is this caller?). */
  rawValues(oid: number, ns = ''): Promise<Record<string, string>> {
    return this.src.rows.values(oid, ns);
  }

  /**
   * Every namespace of many objects in two queries (no N+1). Unknown oids are
   * skipped. Keys of the inner map are namespace names, '' for the main one.
   */
  async getMany(subject: AclSubject, oids: readonly number[]): Promise<Map<number, { cls: ClassDef; namespaces: Map<string, Record<string, string>> }>> {
    const out = new Map<number, { cls: ClassDef; namespaces: Map<string, Record<string, string>> }>();
    for (const r of await this.src.rows.classesOf(oids)) {
      const cls = this.schema.classes.get(r.className);
      if (cls) out.set(r.oid, { cls, namespaces: new Map() });
    }
    const grouped = new Map<number, Map<string, Record<string, unknown>>>();
    for (const [oid, ns, values] of await this.src.rows.namespacesOf(oids)) {
      let byNs = grouped.get(oid);
      if (!byNs) grouped.set(oid, (byNs = new Map()));
      byNs.set(ns, values);
    }
    for (const [oid, entry] of out) {
      const byNs = grouped.get(oid);
      for (const nsDef of entry.cls.namespaces.values()) {
        entry.namespaces.set(nsDef.name, this.readable(subject, oid, nsDef, byNs?.get(nsDef.name) ?? NOTHING_STORED));
      }
    }
    return out;
  }

  /**
   * Stored values to readable ones: schema order, defaults for rows a newer schema added, ACLs applied.
   * `stored` may be a plain object from JSON.parse: only string values count, so an inherited member
   * (`constructor`) is never taken for a stored property.
   */
  private readable(subject: AclSubject, oid: number, nsDef: NamespaceDef, stored: Record<string, unknown>): Record<string, string> {
    let hidden = '';
    for (const prop of nsDef.properties.values()) if (!prop.readacl(subject, oid)) hidden += `${prop.name}\0`;
    const out = { ...this.shape(nsDef, hidden) };
    for (const prop of nsDef.properties.values()) {
      if (hidden !== '' && !prop.readacl(subject, oid)) continue;
      const value = stored[prop.derived?.from ?? prop.name];
      if (prop.derived) out[prop.name] = derivedValue(prop, typeof value === 'string' ? value : undefined, nsDef.properties.get(prop.derived.from)!.default);
      else out[prop.name] = prop.writeOnly ? '' : typeof value === 'string' ? value : prop.default;
    }
    return out;
  }

  /**
   * The keys of a namespace but `hidden` (names, each followed by \0), in
   * schema order, with '' values: what readable() clones and fills. Made by
   * JSON.parse, whose objects have V8's fast properties, and a clone filled
   * key by key keeps them; an object built up key by key turns into a slow
   * dictionary past a dozen keys, and JSON.stringify of the reply holding it
   * then costs several times more.
   */
  private shape(nsDef: NamespaceDef, hidden: string): Record<string, string> {
    let byHidden = this.shapes.get(nsDef);
    if (byHidden === undefined) this.shapes.set(nsDef, (byHidden = new BoundedMap(MAX_SHAPES_PER_NAMESPACE)));
    let shape = byHidden.get(hidden);
    if (shape === undefined) {
      const skip = new Set(hidden.split('\0'));
      const keys = [...nsDef.properties.keys()].filter((k) => !skip.has(k));
      shape = JSON.parse(JSON.stringify(Object.fromEntries(keys.map((k) => [k, ''])))) as Record<string, string>;
      // Bounded: one shape per combination of read ACL outcomes met.
      byHidden.set(hidden, shape);
    }
    return shape;
  }

  /**
   * Oids of a class matching every criterion, sorted as asked (oid order
   * otherwise), on the event loop: the daemon's own look-ups, and a
   * mutation's (at(w): inside its transaction, its own writes seen).
   */
  async find(subject: AclSubject, className: string, q: FindQuery): Promise<number[]> {
    const plan = this.findPlan(subject, className, q);
    if (plan === null) return [];
    if (plan.sort) return this.sorted(plan, await plan.run.withSortValues());
    const oids = await plan.run.all();
    return subject.admin ? oids : oids.filter(plan.readable);
  }

  /**
   * find() in bounded pages: at most `limit` oids from where `after` left off,
   * and, in oid order, at most `maxScan` candidates examined (so a criterion
   * that matches little cannot walk a whole large class in one request). A cut
   * page says `more`, and resume(i) continues after its i-th oid (i = its
   * length: after everything it examined). A sorted query sorts every match
   * and pages through that order. A search with a pattern larger than the
   * event loop can afford runs its statements on a search thread (see
   * INLINE_CANDIDATES), which is why the page comes later.
   */
  async findPage(subject: AclSubject, className: string, q: FindQuery, bounds: FindBounds): Promise<FindPage> {
    const plan = this.findPlan(subject, className, q);
    if (plan === null) return { oids: [], more: false, resume: () => ({ skip: 0 }) };
    const { time } = plan;
    // A mutation's search reads what its transaction wrote: through its handle only. Any other reads the
    // committed state (while a batch is open too): a thread may run it.
    if (time === undefined || this.searchThreads === undefined || this.src.w !== undefined) return this.pageOf(plan, time === undefined ? plan.run : this.timed(plan.run, time), bounds);
    if (!(await plan.run.candidatesBeyond(INLINE_CANDIDATES))) {
      time.stepsLeft = INLINE_STEPS;
      try {
        return await this.pageOf(plan, this.timed(plan.run, time), bounds);
      } catch (err) {
        // Larger than it looked: the page starts again on a search thread.
        if (!(err instanceof NotHere)) throw err;
      }
    }
    return this.pageOf(plan, this.searchThreads.find(plan.spec, { cpuMs: 0, wallMs: 0 }), bounds);
  }

  /**
   * The run's statements, each with its search's time current (other searches run between them). On
   * SQLite a statement runs within the call that returns its Promise: the time covers it.
   */
  private timed(run: AsyncFindRun, time: SearchTime): AsyncFindRun {
    const during = <R>(fn: () => Promise<R>) => this.patterns.during(time, fn);
    return {
      all: () => during(() => run.all()),
      withSortValues: () => during(() => run.withSortValues()),
      candidatesBeyond: (n) => run.candidatesBeyond(n),
      windowEnd: (from, offset) => run.windowEnd(from, offset),
      range: (from, to, limit) => during(() => run.range(from, to, limit)),
    };
  }

  private async pageOf(plan: FindPlan, run: AsyncFindRun, bounds: FindBounds): Promise<FindPage> {
    if (!plan.sort) return this.scanPage(plan, run, bounds);
    const skip = bounds.after && 'skip' in bounds.after ? bounds.after.skip : 0;
    const { maxSort = Infinity } = bounds;
    if (maxSort !== Infinity && (await run.candidatesBeyond(maxSort))) {
      throw badParameters(`sortprop: more than ${maxSort} objects to sort; narrow the criteria, or page without sortprop`);
    }
    const all = this.sorted(plan, await run.withSortValues());
    const oids = all.slice(skip, skip + bounds.limit);
    return { oids, more: all.length > skip + bounds.limit, resume: (i) => ({ skip: skip + i }) };
  }

  /** An oid-ordered page: candidate windows of the driving index, each run as one range query. */
  private async scanPage(plan: FindPlan, run: AsyncFindRun, { limit, maxScan, after }: FindBounds): Promise<FindPage> {
    const start = after && 'oid' in after ? after.oid : 0;
    const oids: number[] = [];
    // After the first i oids; after all of them, wherever the scan stopped.
    const page = (more: boolean, stoppedAt?: number): FindPage => ({
      oids,
      more,
      resume: (i) => ({ oid: i === oids.length && stoppedAt !== undefined ? stoppedAt : i === 0 ? start : oids[i - 1]! }),
    });
    let from = start;
    for (let scanned = 0; ; ) {
      const window = Math.max(1, Math.min(maxScan - scanned, FIND_WINDOW));
      scanned += window;
      const end = await run.windowEnd(from, window - 1);
      // A window's hits in LIMITed runs: the caller may not read every one of them.
      for (let at = from; ; ) {
        const want = limit + 1 - oids.length;
        const hits = await run.range(at, end ?? Number.MAX_SAFE_INTEGER, want);
        for (const oid of hits) if (plan.readable(oid)) oids.push(oid);
        if (oids.length > limit) {
          oids.length = limit;
          return page(true);
        }
        if (hits.length < want) break;
        at = hits[hits.length - 1]!;
      }
      if (end === undefined) return page(false);
      if (scanned >= maxScan) return page(true, end);
      from = end;
    }
  }

  /** Every match of a sorted query (with the value it sorts by), in the asked order. */
  private sorted(plan: FindPlan, matches: { oid: number; sortvalue: string | null }[]): number[] {
    const { subject, sort } = plan;
    const rows = matches.filter((r) => plan.readable(r.oid));
    const cmp = compareBy(sort!.type);
    // A value the caller may not read sorts as '': the order must not reveal it either.
    const shown = (v: string | null) => (sort!.derived ? (sort!.derived.fromSource.get(v ?? sort!.prop.default) ?? '') : (v ?? sort!.prop.default));
    const keyOf = (r: { oid: number; sortvalue: string | null }) => (sort!.prop.readacl(subject, r.oid) ? shown(r.sortvalue) : '');
    rows.sort((a, b) => cmp(keyOf(a), keyOf(b)) || a.oid - b.oid);
    return rows.map((r) => r.oid);
  }

  /** A find as the backend runs it (port.ts FindSpec), with its ACL filter. `null` when nothing can match. */
  private findPlan(subject: AclSubject, className: string, q: FindQuery): FindPlan | null {
    const cls = this.classDef(className);
    const given = q.criteria.map((c) => this.propertyDef(cls, c.ns, c.name));
    // The search's time starts before any pattern meets a value (derived and default values below included).
    let time = q.criteria.some((c) => c.op === '~') || given.some((p) => p.derived) ? this.patterns.startSearch() : undefined;
    // No stored value holds U+0000: an exact match on one finds nothing.
    if (q.criteria.some((c, i) => c.op === '=' && !given[i]!.array && holdsNul(c.value))) return null;
    // Most finds name stored properties of a class without soft delete: used as they are.
    const criteria = cls.softDelete === undefined && !given.some((p) => p.derived) ? q.criteria : this.storedCriteria(cls, q.criteria, given);
    if (criteria === null) return null;
    const props = criteria === q.criteria ? given : criteria.map((c) => this.propertyDef(cls, c.ns, c.name));
    const terms = criteria.map((c, i): FindTerm => {
      const prop = props[i]!;
      if (c.op === '~') {
        // A refused pattern is 403 before any query runs.
        this.patterns.compile(c.value);
      }
      // An object may lack the row of a property the schema just gained (until backfill.ts stores it): it has the default.
      const orMissing = this.unstoredDefaults.has(prop) && this.defaultMatches(prop, c);
      return { ns: c.ns, name: c.name, op: c.op, value: c.value, array: prop.array, orMissing };
    });
    // The first exact match on a non-array property drives the query through the (class, ns, name, value) index.
    const driver = terms.findIndex((t) => t.op === '=' && !t.array && !t.orMissing);
    if (driver >= 0) terms[driver] = { ...terms[driver]!, value: toCceString(props[driver]!, terms[driver]!.value) ?? terms[driver]!.value };
    // A derived `=` becomes a pattern over its sources: a search too.
    if (!terms.some((t) => t.op === '~')) time = undefined;
    // A caller must not find objects through a property it may not read (no oracle on secrets).
    const readable = (oid: number) => subject.admin || props.every((p) => p.readacl(subject, oid));
    const found = { subject, readable, ...(time ? { time } : {}) };
    if (!q.sortprop) {
      const spec: FindSpec = { className: cls.name, terms, driver };
      return { ...found, spec, run: this.src.rows.find(spec) };
    }
    const derived = this.propertyDef(cls, q.sortprop.ns, q.sortprop.name).derived;
    const sortBy = derived ? { ns: q.sortprop.ns, name: derived.from } : q.sortprop;
    const prop = this.propertyDef(cls, sortBy.ns, sortBy.name);
    const spec: FindSpec = { className: cls.name, terms, driver, sortBy };
    return { ...found, spec, run: this.src.rows.find(spec), sort: { prop, derived, type: q.sorttype ?? 'ascii' } };
  }

  /**
   * Properties whose default is not yet stored for every object of their class
   * (a schema extension, filled in the background by backfill.ts): finds treat
   * a missing row as that default meanwhile.
   */
  private readonly unstoredDefaults = new Set<PropertyDef>();

  defaultsUnstored(props: Iterable<PropertyDef>): void {
    for (const p of props) this.unstoredDefaults.add(p);
  }

  defaultStored(prop: PropertyDef): void {
    this.unstoredDefaults.delete(prop);
  }

  /** Would an object holding the property's default match the criterion? */
  private defaultMatches(prop: PropertyDef, c: FindCriterion): boolean {
    const values = prop.array ? (decodeArray(prop.default) ?? []) : [prop.default];
    if (c.op === '~') return values.some((v) => this.patterns.test(c.value, v));
    return prop.array ? values.includes(c.value) : (toCceString(prop, c.value) ?? c.value) === prop.default;
  }

  /**
   * The criteria as SQL can run them: derived properties as their sources, and
   * `<softDelete flag> = "0"` added unless a criterion names the flag (a deleted
   * object is found only when asked for). `null` when nothing can match.
   */
  private storedCriteria(cls: ClassDef, criteria: readonly FindCriterion[], props: readonly PropertyDef[]): FindCriterion[] | null {
    const out: FindCriterion[] = [];
    for (const [i, c] of criteria.entries()) {
      if (!props[i]!.derived) {
        out.push(c);
        continue;
      }
      const mapped = underivedCriterion(props[i]!, c, (p, v) => this.patterns.test(p, v));
      if (mapped === null) return null;
      out.push(...mapped);
    }
    const flag = cls.softDelete;
    if (flag !== undefined && !out.some((c) => c.ns === '' && c.name === flag)) out.push({ ns: '', name: flag, op: '=', value: '0' });
    return out;
  }

  /** The first oid of a class whose property equals a value (no ACL: internal look-ups). */
  async findOne(className: string, ns: string, name: string, value: string): Promise<number | undefined> {
    const [oid] = await this.find(SYSTEM, className, { criteria: [{ ns, name, op: '=', value }] });
    return oid;
  }

  /**
   * findOne for a non-array property, with the named main-namespace values of
   * the object found (no ACL: internal look-ups), in one statement: what a
   * device's first heartbeat needs to authenticate (a fleet's first minute is
   * all first beats). A value not stored is absent from `values`.
   */
  async findOneWith(className: string, ns: string, name: string, value: string, fields: readonly string[]): Promise<{ oid: number; values: Record<string, string> } | undefined> {
    const cls = this.classDef(className);
    const prop = this.propertyDef(cls, ns, name);
    if (prop.array) throw new Error(`findOneWith: ${className}.${name} is an array property`);
    if (holdsNul(value)) return undefined;
    const row = await this.src.rows.firstWith(cls.name, ns, name, toCceString(prop, value) ?? value, fields);
    if (!row) return undefined;
    const values: Record<string, string> = {};
    for (const f of fields) if (typeof row.values[f] === 'string') values[f] = row.values[f];
    return { oid: row.oid, values };
  }

  /** One stored value (no ACL, no default): internal decisions that need a single property. */
  rawValue(oid: number, ns: string, name: string): Promise<string | undefined> {
    return this.src.rows.value(oid, ns, name);
  }

  /**
   * One page of a class's objects in the order of one main-namespace property
   * (then oid), optionally only those whose value starts with `prefix`, with
   * the total count. `after` (a value of that property, and the oid when it is
   * not unique) starts the page right after that entry: an index seek, so a
   * page costs the same at any depth. An `offset` walks the skipped entries,
   * unless a page served earlier ended (or started) there and nothing the
   * order depends on changed since: then it seeks too; a deep one is walked in
   * steps (walkTo). Objects the subject may not read that property of are left
   * out of the page.
   */
  async page(
    subject: AclSubject,
    className: string,
    by: string,
    opts: { prefix?: string; limit: number; offset: number; after?: PageMark },
  ): Promise<{ total: number; oids: number[]; last?: PageMark }> {
    const cls = this.classDef(className);
    const prop = this.propertyDef(cls, '', by);
    const prefix = opts.prefix ?? '';
    if (holdsNul(prefix)) return { total: 0, oids: [] };
    // Every object stores a row for each stored property (backfill.ts), so a whole class's total is its kept count.
    const total =
      prefix === '' && !prop.derived && !this.unstoredDefaults.has(prop)
        ? await this.classCount(cls.name)
        : await this.pageTotal(cls.name, by, prefix, () => this.src.rows.pageCount(cls.name, by, prefix));
    const marks = `${cls.name}\0${by}\0${prefix}`;
    const revision = this.orderRevision(cls.name, by);
    const seek = afterStored(opts.after) ?? this.pageMarks.get(`${marks}\0${opts.offset}`, () => revision);
    // Right after the caller's entry, or at a remembered page start; else the offset walked.
    const start: PageStart | undefined =
      seek !== undefined
        ? { value: seek.value, oid: seek.oid ?? (opts.after ? Number.MAX_SAFE_INTEGER : 0), inclusive: opts.after === undefined }
        : opts.offset >= this.pageWalkStep && this.src.w === undefined
          ? await this.walkTo(cls.name, by, prefix, opts.offset)
          : { offset: opts.offset };
    const stamp = this.readStamp();
    const rows = start === undefined ? [] : await this.src.rows.pageRows(cls.name, by, prefix, start, opts.limit);
    const first = rows[0];
    const end = rows.at(-1);
    if (opts.after === undefined && first !== undefined) {
      // Where this page starts and where the next one does: a later request for either offset seeks.
      this.remember(this.pageMarks, `${marks}\0${opts.offset}`, revision, { value: first.value, oid: first.oid }, stamp);
      if (rows.length === opts.limit) this.remember(this.pageMarks, `${marks}\0${opts.offset + rows.length}`, revision, { value: end!.value, oid: end!.oid + 1 }, stamp);
    }
    return {
      total,
      oids: rows.map((r) => r.oid).filter((oid) => prop.readacl(subject, oid)),
      ...(end === undefined ? {} : { last: { value: end.value, oid: end.oid } }),
    };
  }

  /** Entries a deep offset is walked at a time (a test sets a small one). */
  pageWalkStep = PAGE_WALK_STEP;

  /**
   * Where the entry at a deep `offset` is (undefined: past the end), found in steps of pageWalkStep entries
   * from the deepest step remembered, each step remembered as a page mark and the event loop served between
   * two: a first visit to the end of a million devices is twenty short reads, not one that holds every other
   * request, and a later visit near any depth starts from its step. When the order changes during the walk
   * (a creation, a destruction, a write of `by`), the offset is walked in one statement instead.
   */
  private async walkTo(className: string, by: string, prefix: string, offset: number): Promise<PageStart | undefined> {
    const marks = `${className}\0${by}\0${prefix}`;
    const revision = this.orderRevision(className, by);
    const step = this.pageWalkStep;
    let at = offset - (offset % step);
    let mark = this.pageMarks.get(`${marks}\0${at}`, () => revision);
    while (mark === undefined && at > 0) mark = this.pageMarks.get(`${marks}\0${(at -= step)}`, () => revision);
    while (at + step <= offset) {
      const stamp = this.readStamp();
      const next = mark === undefined ? { offset: at + step } : { value: mark.value, oid: mark.oid ?? 0, inclusive: true, skip: step };
      const [row] = await this.src.rows.pageRows(className, by, prefix, next, 1);
      if (row === undefined) return undefined;
      if (this.orderRevision(className, by) !== revision) return { offset };
      at += step;
      mark = { value: row.value, oid: row.oid };
      this.remember(this.pageMarks, `${marks}\0${at}`, revision, mark, stamp);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return mark === undefined ? { offset } : { value: mark.value, oid: mark.oid ?? 0, inclusive: true, skip: offset - at };
  }

  /** Changes when an object of the class comes or goes, when `by` is written, or when another process commits. */
  private orderRevision(className: string, by: string): number {
    const propKey = `${className}\0${by}`;
    this.pagedBy.add(propKey);
    return this.membershipRevision(className) + (this.memberships.get(propKey) ?? 0);
  }

  /**
   * A page's total, counted (a scan of every entry: ~3.5 ms at 100k objects)
   * only when an object of the class was created or destroyed, the ordering
   * property written, or another process committed since the last count.
   */
  private async pageTotal(className: string, by: string, prefix: string, count: () => Promise<number>): Promise<number> {
    const revision = this.orderRevision(className, by);
    const key = `${className}\0${by}\0${prefix}`;
    const cached = this.pageTotals.get(key, () => revision);
    if (cached !== undefined) return cached;
    const stamp = this.readStamp();
    const total = await count();
    this.remember(this.pageTotals, key, revision, total, stamp);
    return total;
  }

  credential(oid: number, name: string): Promise<string | undefined> {
    return this.src.rows.credential(oid, name);
  }

  /** Objects of one class: one row read, kept by the database (migration 3). */
  classCount(className: string): Promise<number> {
    return this.src.rows.classCount(className);
  }

  count(): Promise<number> {
    return this.src.rows.count();
  }

  setting(key: string): Promise<string | undefined> {
    return this.src.rows.setting(key);
  }

  /** StoreTx.putSetting. */
  private putSettingIn(key: string, value: string | undefined): Promise<void> {
    return this.writes().objects.putSetting(key, value);
  }

  // ---- writes (a StoreTx's: inside a Writer transaction) ---------------

  /** StoreTx.create. */
  private async createIn(subject: AclSubject, className: string, given: Record<string, unknown>, { at }: { at?: number } = {}): Promise<number> {
    const { objects } = this.writes();
    const cls = this.classDef(className);
    if (!cls.createacl(subject, -1)) throw permissionDenied('CREATE');
    const main = this.namespaceDef(cls, '');
    const values = underive(main, given, 0);
    const canonical = this.canonicalize(cls, '', values);
    const revived = await this.deletedHolder(cls, main, canonical.plain);
    if (revived !== undefined && at !== undefined) throw badParameters(`${cls.name} ${at}: object ${revived} holds its unique value`);
    if (revived !== undefined) return this.revive(subject, cls, main, revived, values);
    if (at !== undefined && (!Number.isSafeInteger(at) || at < 1 || (await this.exists(at)))) throw badParameters(`oid ${at} is taken or not an oid`);
    // The values given at creation pass the same write ACLs as a SET would (target -1: the object is not
    // there yet, so ruleSelf never applies); otherwise createacl alone would let a user with the
    // adminUser capability create a systemAdministrator.
    for (const key of Object.keys(values)) {
      if (!main.properties.get(key)!.writeacl(subject, -1)) throw permissionDenied(key);
    }
    const full = this.defaults(main);
    for (const [k, v] of canonical.plain) full.set(k, v);
    await this.validate(cls, main, '', full, 0, canonical.given, () => this.references(main, 0, canonical.given, (name) => full.get(name) ?? ''));
    const now = Date.now();
    const oid = await objects.insertObject(cls.name, now, at);
    if (oid > this.oids.highest) this.oids.highest = oid;
    if (oid < this.oids.unsealedFrom) this.oids.unsealedFrom = oid;
    for (const nsDef of cls.namespaces.values()) {
      const vals = nsDef.name === '' ? full : this.defaults(nsDef);
      for (const [k, v] of vals) await putUnique(objects, 0, oid, nsDef.name, k, cls.name, v);
    }
    await this.writeHashes(objects, oid, canonical.hashes, now);
    await this.changed({ op: 'CREATE', oid, class: cls.name, props: [...Object.keys(values)], by: subject.oid }, { subject, values: full, hashed: canonical.hashes });
    return oid;
  }

  /** The stored properties of a namespace at their defaults (write-only and derived ones are not stored). */
  private defaults(nsDef: NamespaceDef): Map<string, string> {
    const out = new Map<string, string>();
    for (const p of nsDef.properties.values()) if (!p.writeOnly && !p.derived) out.set(p.name, p.default);
    return out;
  }

  /** A soft-deleted object holding a unique value a CREATE gives (it is revived instead of a new one made). */
  private async deletedHolder(cls: ClassDef, main: NamespaceDef, values: ReadonlyMap<string, string>): Promise<number | undefined> {
    const flag = cls.softDelete;
    if (flag === undefined) return undefined;
    for (const [key, value] of values) {
      if (!main.properties.get(key)!.unique || value === '') continue;
      const holder = await this.src.rows.holderOf(cls.name, '', key, value, 0);
      if (holder !== undefined && (await this.rawValue(holder, '', flag)) === '1') return holder;
    }
    return undefined;
  }

  /** CREATE of a soft-deleted object's unique value: that object again, with the defaults under the values given. */
  private async revive(subject: AclSubject, cls: ClassDef, main: NamespaceDef, oid: number, values: Record<string, unknown>): Promise<number> {
    for (const key of Object.keys(values)) if (!main.properties.get(key)!.writeacl(subject, -1)) throw permissionDenied(key);
    await this.setIn(SYSTEM, oid, '', { ...Object.fromEntries(this.defaults(main)), ...values, [cls.softDelete!]: '0' });
    return oid;
  }

  /**
   * The references a write leaves (references.ts), looked up where this Store reads: live objects only for
   * a reference by property (a soft-deleted target does not count), any object of the class by oid.
   */
  private references(nsDef: NamespaceDef, oid: number, written: Iterable<string>, own: (name: string) => string | Promise<string>): Promise<void> {
    return checkReferences(nsDef, oid, written, own, (className, criteria) => this.find(SYSTEM, className, { criteria }), (target) => this.className(target));
  }

  /** StoreTx.set. */
  private async setIn(subject: AclSubject, oid: number, ns: string, given: Record<string, unknown>, { routine = false } = {}): Promise<void> {
    const { objects } = this.writes();
    const cls = await this.objectClass(oid);
    const nsDef = this.namespaceDef(cls, ns);
    const values = underive(nsDef, given, oid);
    const canonical = this.canonicalize(cls, ns, values, oid);
    await this.checkWritable(subject, oid, nsDef, Object.keys(values));
    await this.validate(cls, nsDef, ns, canonical.plain, oid, canonical.given, () =>
      this.references(nsDef, oid, canonical.given, async (name) => canonical.plain.get(name) ?? (await this.rawValue(oid, '', name)) ?? ''),
    );
    const watched = ns === '' ? await this.watchedChanges(cls.name, oid, canonical.plain) : undefined;
    const now = Date.now();
    for (const [k, v] of canonical.plain) await putUnique(objects, oid, oid, ns, k, cls.name, v);
    await this.writeHashes(objects, oid, canonical.hashes, now);
    await objects.touch(oid, now);
    await this.changed(
      { op: 'SET', oid, class: cls.name, ns, props: Object.keys(values), by: subject.oid, ...(routine ? { routine: true } : {}) },
      { subject, values: canonical.plain, hashed: canonical.hashes },
    );
    for (const w of watched ?? []) for (const listener of w.listeners) await listener({ subject, oid, from: w.from, to: w.to }, this.tx());
  }

  /** StoreTx.beat. */
  private async beatIn(subject: AclSubject, oid: number, lastSeen: string, ipAddress: string): Promise<string | undefined> {
    const { objects } = this.writes();
    const cls = await this.objectClass(oid);
    const nsDef = this.namespaceDef(cls, '');
    if (!narrowBeat(nsDef) || this.watched(cls.name, BEAT_PROPERTIES)) {
      const before = await this.rawValue(oid, '', BEAT_CLOCK);
      await this.setIn(subject, oid, '', { [BEAT_CLOCK]: lastSeen, [BEAT_ADDRESS]: ipAddress }, { routine: true });
      return before;
    }
    await this.checkWritable(subject, oid, nsDef, BEAT_PROPERTIES);
    const values = new Map([
      [BEAT_CLOCK, lastSeen],
      [BEAT_ADDRESS, ipAddress],
    ]);
    for (const [name, value] of values) {
      const invalid = whyInvalid(nsDef.properties.get(name)!, value);
      if (invalid !== null) throw badData(oid, name, invalid);
    }
    const before = await objects.putBeat(oid, cls.name, lastSeen, ipAddress, Date.now());
    await this.changed({ op: 'SET', oid, class: cls.name, ns: '', props: [...BEAT_PROPERTIES], by: subject.oid, routine: true }, { subject, values });
    return before;
  }

  /** Does a value listener watch any of these properties of the class? */
  private watched(className: string, names: readonly string[]): boolean {
    const byName = this.valueListeners.get(className);
    return byName !== undefined && names.some((name) => (byName.get(name)?.size ?? 0) > 0);
  }

  /** The watched properties this SET changes, with their values before it (read only when watched). */
  private async watchedChanges(className: string, oid: number, next: Map<string, string>) {
    let out: { listeners: Set<ValueListener>; from: string; to: string }[] | undefined;
    // Most SETs (a heartbeat's) are of classes nobody watches: one look-up.
    const byName = this.valueListeners.get(className);
    if (byName === undefined) return out;
    for (const [name, to] of next) {
      const listeners = byName.get(name);
      if (listeners === undefined || listeners.size === 0) continue;
      const from = (await this.rawValue(oid, '', name)) ?? '';
      if (from !== to) (out ??= []).push({ listeners, from, to });
    }
    return out;
  }

  /** StoreTx.destroy. */
  private async destroyIn(subject: AclSubject, oid: number): Promise<void> {
    const { objects } = this.writes();
    const cls = await this.objectClass(oid);
    if (!cls.destroyacl(subject, oid) || (await this.protectedFrom(subject, oid))) throw permissionDenied('DESTROY');
    if (cls.softDelete !== undefined) return this.setIn(subject, oid, '', { [cls.softDelete]: '1' });
    const listeners = this.destroyListeners.get(cls.name);
    if (listeners !== undefined && listeners.size > 0) {
      const values = await this.rawValues(oid);
      for (const listener of listeners) await listener({ subject, oid, values }, this.tx());
    }
    await objects.deleteObject(oid);
    this.oidClasses.delete(oid);
    this.oidClassHold.destroys++;
    await this.changed({ op: 'DESTROY', oid, class: cls.name, by: subject.oid }, { subject });
  }

  /** This Store as the StoreTx it is (a write runs on one). */
  private tx(): StoreTx {
    return this as unknown as StoreTx;
  }

  /**
   * Keeps a rolled-back CREATE's oid from ever being handed out again: the
   * oid counter may be part of the transaction (SQLite's AUTOINCREMENT is), so
   * a rolled-back COMMIT (whose reply reported the oids it made) would leave
   * them free. The Writer calls this in every transaction just before COMMIT:
   * when this Store made an oid above what is known sealed, the counter is
   * raised to it (one statement, on the writer's connection, only in
   * transactions that created objects).
   */
  sealOids(): void {
    // Nothing is created between here and COMMIT: the next mutation's creations start a new span.
    this.oids.unsealedFrom = Infinity;
    if (this.oids.highest <= this.oids.sealed) return;
    this.rows.reserveOids(this.oids.highest);
    // If this COMMIT fails, none of its replies went out: the oids it made are no one's yet.
    this.oids.sealed = this.oids.highest;
  }

  /**
   * Would this write pass? The checks create(), set() and destroy() make before
   * they write, in their order and with their errors, read-only: class, object,
   * namespace, property names, ACLs, types. Not uniqueness: an earlier write in
   * the same BEGIN queue may free the value (validate() then gets no keys as
   * given). A queued write is checked here when queued and again, whole, when
   * COMMIT runs it. Write-only values must be Hashed (any hash). The target of
   * SET or DESTROY is an existing oid or the class of an object a queued CREATE
   * will make, whose ACLs then see target -1 as CREATE's do. Not references
   * either: they may name an object an earlier queued CREATE makes.
   */
  async checkWrite(subject: AclSubject, w: WriteCheck): Promise<void> {
    const noneGiven = new Set<string>();
    if (w.op === 'CREATE') {
      const cls = this.classDef(w.className);
      if (!cls.createacl(subject, -1)) throw permissionDenied('CREATE');
      const main = this.namespaceDef(cls, '');
      const { plain } = this.canonicalize(cls, '', w.values);
      await this.checkWritable(subject, -1, main, Object.keys(w.values));
      const defaults = [...main.properties.values()].filter((p) => !p.writeOnly).map((p): [string, string] => [p.name, p.default]);
      await this.validate(cls, main, '', new Map([...defaults, ...plain]), 0, noneGiven, NO_REFERENCES);
      return;
    }
    const { target } = w;
    const cls = typeof target === 'number' ? await this.objectClass(target) : target;
    const aclTarget = typeof target === 'number' ? target : -1;
    if (w.op === 'DESTROY') {
      if (!cls.destroyacl(subject, aclTarget) || (await this.protectedFrom(subject, aclTarget))) throw permissionDenied('DESTROY');
      return;
    }
    const label = Math.max(aclTarget, 0);
    const nsDef = this.namespaceDef(cls, w.ns);
    const { plain } = this.canonicalize(cls, w.ns, w.values, label);
    await this.checkWritable(subject, aclTarget, nsDef, Object.keys(w.values));
    await this.validate(cls, nsDef, w.ns, plain, label, noneGiven, NO_REFERENCES);
  }

  /**
   * Throws 304 naming the first property of `keys` the subject may not write on
   * this object. Commands call it before costly preparation (password hashing).
   */
  async checkWritable(subject: AclSubject, oid: number, nsDef: NamespaceDef, keys: readonly string[]): Promise<void> {
    // No closures and no awaited read for a subject writing its own object (a device's beat, thousands a second).
    let denied = mayBeProtected(subject, oid) && (await this.protectedFrom(subject, oid)) ? keys[0] : undefined;
    for (let i = 0; denied === undefined && i < keys.length; i++) if (!nsDef.properties.get(keys[i]!)?.writeacl(subject, oid)) denied = keys[i];
    if (denied !== undefined) throw permissionDenied(nsDef.name ? `${nsDef.name}.${denied}` : denied);
  }

  /**
   * Only a sysadmin may change or destroy another sysadmin's object: a
   * capability such as adminUser manages ordinary users, never its betters
   * (otherwise it could set the admin's password and log in as the admin).
   */
  private async protectedFrom(subject: AclSubject, oid: number): Promise<boolean> {
    if (!mayBeProtected(subject, oid)) return false;
    return (await this.src.rows.value(oid, '', 'systemAdministrator')) === '1';
  }

  /**
   * Input values to canonical CCE strings; write-only ones must come pre-hashed.
   * A 302 names the key as the write gave it, bare on every namespace, as the
   * reference does (`SET 1 . Snmp foo="1"` -> `BAD DATA 1 foo "..."`).
   */
  private canonicalize(cls: ClassDef, ns: string, values: Record<string, unknown>, oid: number | string = 0) {
    const plain = new Map<string, string>();
    const hashes = new Map<string, string>();
    const properties = this.namespaceDef(cls, ns).properties;
    for (const [key, raw] of Object.entries(values)) {
      const prop = properties.get(key);
      if (prop === undefined) throw badData(oid, key, WHY_UNKNOWN_ATTR);
      if (prop.writeOnly) {
        if (!(raw instanceof Hashed)) throw badData(oid, key, WHY_INVALID_DATA);
        if (raw.hash !== null) hashes.set(key, raw.hash);
        continue;
      }
      const value = raw instanceof Hashed ? undefined : toCceString(prop, raw);
      if (value === undefined) throw badData(oid, key, WHY_INVALID_DATA);
      plain.set(key, value);
    }
    return { plain, hashes, given: new Set(Object.keys(values)) };
  }

  /**
   * Type, reference and uniqueness checks, in that order (a value must be well
   * formed, name what exists, then be free); the first failure is a 302 naming
   * the property by its bare key (see canonicalize).
   */
  private async validate(
    cls: ClassDef,
    nsDef: NamespaceDef,
    ns: string,
    values: Map<string, string>,
    oid: number,
    given: Set<string>,
    references: () => Promise<void>,
  ): Promise<void> {
    for (const [key, value] of values) {
      const why = whyInvalid(nsDef.properties.get(key)!, value);
      if (why !== null) throw badData(oid, key, why);
    }
    await references();
    for (const [key, value] of values) {
      const prop = nsDef.properties.get(key)!;
      if (prop.unique && value !== '' && given.has(key) && (await this.src.rows.holderOf(cls.name, ns, key, value, oid)) !== undefined) {
        throw badData(oid, key, WHY_NOT_UNIQUE);
      }
    }
  }

  private async writeHashes(objects: AsyncObjectWrites, oid: number, hashes: Map<string, string>, now: number): Promise<void> {
    for (const [name, hash] of hashes) await objects.putCredential(oid, name, hash, now);
  }

  // ---- helpers ---------------------------------------------------------

  /** Subscribes to changes of one main-namespace property (see ValueListener); returns the unsubscribe function. */
  watchValue(className: string, name: string, listener: ValueListener): () => void {
    let byName = this.valueListeners.get(className);
    if (byName === undefined) this.valueListeners.set(className, (byName = new Map()));
    let listeners = byName.get(name);
    if (listeners === undefined) byName.set(name, (listeners = new Set()));
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Subscribes to the DESTROY of objects of one class (see DestroyListener); returns the unsubscribe function. */
  beforeDestroy(className: string, listener: DestroyListener): () => void {
    let listeners = this.destroyListeners.get(className);
    if (listeners === undefined) this.destroyListeners.set(className, (listeners = new Set()));
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Subscribes to every write (see WriteListener); returns the unsubscribe function. */
  onWrite(listener: WriteListener): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  /**
   * A number that changes whenever an object of `className` may have changed:
   * writes through this Store (counted as they run, so a rolled-back one
   * counts too: a spurious change, never a missed one) and commits by any
   * other connection to the file (SQLite's data_version: the admin CLI
   * disabling a user while the daemon runs). What is derived from such
   * objects can be cached until the number moves.
   */
  revision(className: string): number {
    // A sum of two counts that only grow moves whenever either does: no scaling, so no precision lost however
    // many commits other processes (or nodes) make.
    return this.externalChanges() + (this.revisions.get(className) ?? 0);
  }

  /**
   * SQLite's data_version: changes when another connection (the admin CLI)
   * commits to the file. Read once per event-loop turn: each read is a read
   * transaction of its own (~2-7 µs of WAL locking), and the requests served in
   * one turn are concurrent anyway, so a commit by another process is seen by
   * every request that arrives after it.
   */
  externalVersion(): number {
    const external = this.external;
    if (external.seen === undefined) {
      const seen = (external.seen = this.rows.externalVersion());
      if (seen !== external.last) {
        external.last = seen;
        external.changes++;
      }
      setImmediate(() => (external.seen = undefined));
    }
    return external.seen;
  }

  /**
   * On a database other nodes write (PostgreSQL): resolves once this node knows of every write another node had
   * acknowledged before the call, so that no cached answer read afterwards is older than such a write. Nothing to
   * wait for on SQLite (see catchesUp): data_version is read in the turn itself.
   */
  async catchUp(): Promise<void> {
    if (!(this.backend instanceof ConcurrentHost)) return;
    await this.backend.catchUp();
    // The version this turn already read may predate the one just learnt.
    this.external.seen = undefined;
  }

  /** Whether catchUp() has anything to wait for (several nodes on one database): a hot path skips it otherwise. */
  get catchesUp(): boolean {
    return this.backend instanceof ConcurrentHost;
  }

  /** How many times externalVersion() was seen to move: a count that only grows, by one at a time. */
  private externalChanges(): number {
    this.externalVersion();
    return this.external.changes;
  }

  /**
   * SQLite's data_version as read in this turn of the event loop (see externalVersion()), the last one read,
   * and how many times it moved.
   */
  private readonly external: { seen: number | undefined; last: number | undefined; changes: number } = { seen: undefined, last: undefined, changes: 0 };

  private async changed(e: AuditEntry, detail: WriteDetail): Promise<void> {
    this.writesMade.count++;
    this.revisions.set(e.class, (this.revisions.get(e.class) ?? 0) + 1);
    if (e.op !== 'SET') this.bump(e.class);
    else if (e.ns === '') for (const p of e.props!) if (this.pagedBy.has(`${e.class}\0${p}`)) this.bump(`${e.class}\0${p}`);
    const tx = this.tx();
    // A listener that answers at once (most, for most writes) is not awaited: no microtask per listener and write.
    for (const listener of this.writeListeners) {
      const pending = listener(e, detail, tx);
      if (pending instanceof Promise) await pending;
    }
    this.audit(e, tx.w);
  }

  private bump(key: string): void {
    this.memberships.set(key, (this.memberships.get(key) ?? 0) + 1);
  }
}

/** Only another, non-admin subject can meet a protected object (protectedFrom): the rest need no read. */
function mayBeProtected(subject: AclSubject, oid: number): boolean {
  return !subject.admin && subject.oid !== oid;
}

/**
 * A page cursor as the database can seek it. A value holding U+0000 is never
 * stored: the entries after it are those after its text up to that character
 * (a stored value starting with that text sorts above it, one equal to it
 * below), which PostgreSQL can compare.
 */
function afterStored(after: PageMark | undefined): PageMark | undefined {
  if (after === undefined || !holdsNul(after.value)) return after;
  return { value: after.value.slice(0, after.value.indexOf('\u0000')) };
}
