/**
 * The change log: every committed transaction records, in itself, one row per
 * object and namespace it touched (class, oid, namespace, the names of the
 * properties written, created/destroyed), whatever the door (/v2/cce, COMMIT,
 * the facades, the console, heartbeats). Names only: values may be secret.
 *
 * Writes reach it through Store.onWrite; each is staged in its savepoint
 * (WriteTx.stage), so a rolled-back write, alone or with its COMMIT, records
 * nothing. The staged writes of a batch are merged per object and namespace
 * and inserted just before COMMIT: a COMMIT that sets three properties of an
 * object in three commands is one change.
 *
 * A bulk transaction (Writer.submitBulk: an import) writes each row as its
 * write is made instead, not merged, stamped when the write was made: what a
 * million creations would otherwise keep until the COMMIT. Its rows roll back
 * with their savepoint as any write does. On PostgreSQL the database holds them
 * in the transaction and inserts them with its COMMIT (insertHeld): the change
 * log's lock, which orders commits across nodes, is taken then only.
 *
 * Heartbeats are coalesced: a routine write (Store.set with `routine`) records
 * `last_seen` at most once per `event_heartbeat_interval` per object, and its
 * other properties only when their value differs from the last one recorded.
 */
import type { ChangeRow, ChangeRows, ObjectRows, StoreBackend } from './port.js';
import type { Writer, WriteTx } from './writer.js';
import { BeatMemory } from './beat-memory.js';
import { BEAT_CLOCK } from './beat-write.js';
import type { AsyncChangeReads, AsyncObjectReads, NewChange } from './async-port.js';
import { ConcurrentHost } from './concurrent-host.js';
import type { AuditEntry, StoreTx, WriteDetail } from './store.js';

/** One recorded change, as read back. */
export interface Change {
  id: number;
  /** Milliseconds since the epoch, when its transaction committed. */
  at: number;
  class: string;
  oid: number;
  ns: string;
  props: string[];
  created: boolean;
  destroyed: boolean;
}

export interface Retention {
  /** Newest changes kept; 0 = no bound by count. */
  count: number;
  /** Seconds a change is kept; 0 = no bound by age. */
  seconds: number;
}

/** The property whose every write a heartbeat makes: recorded at most once per interval. */
const HEARTBEAT_CLOCK = BEAT_CLOCK;
/**
 * Objects whose last recorded heartbeat values are remembered (beat-memory.ts: ~21 bytes each
 * beating an address alone, a slot's pages resident only once used): a fleet of a million fits.
 */
const MAX_REMEMBERED_BEATS = 2 ** 20;
/** Rows one pruning transaction deletes at most: a short job among the writers' batches. */
export const PRUNE_CHUNK = 5000;
const PRUNED_THROUGH = 'changes_pruned_through';

interface Pending {
  class: string;
  oid: number;
  ns: string;
  props: Set<string>;
  created: boolean;
  destroyed: boolean;
}

function newChange(at: number, p: Omit<Pending, 'props'> & { props: Iterable<string> }): NewChange {
  return { at, className: p.class, oid: p.oid, ns: p.ns, props: JSON.stringify([...p.props]), created: p.created, destroyed: p.destroyed };
}

export class ChangeLog {
  /** The synchronous reads (SQLite); undefined on PostgreSQL, which reads through `shared`. */
  private readonly rows: ChangeRows | undefined;
  private readonly settings: ObjectRows | undefined;
  /** PostgreSQL's reads (several nodes write the log: its ids are in commit order, src/store/postgres). */
  private readonly shared: { changes: AsyncChangeReads; objects: AsyncObjectReads } | undefined;
  /** The batch being committed: `oid\0ns` -> its merged change, in the order first touched. */
  private readonly pending = new WeakMap<WriteTx, Map<string, Pending>>();
  private readonly beats = new BeatMemory(MAX_REMEMBERED_BEATS);
  /** The highest id inserted by the transaction committing now, and the highest known durable. */
  private committing = 0;
  private durableHigh = 0;

  constructor(
    backend: StoreBackend | ConcurrentHost,
    private readonly writer: Writer,
    private readonly heartbeatIntervalMs: number,
  ) {
    if (backend instanceof ConcurrentHost) this.shared = backend.async;
    else {
      this.rows = backend.changes;
      this.settings = backend.objects;
    }
    writer.onBeforeCommit((w) => this.insertPending(w));
    writer.onDurable(() => {
      if (this.committing > this.durableHigh) this.durableHigh = this.committing;
      this.committing = 0;
    });
  }

  /** The Store write listener (Store.onWrite): stages the write in its savepoint. */
  readonly record = (e: AuditEntry, detail: WriteDetail, tx: StoreTx): void | Promise<void> => {
    const named = e.op === 'DESTROY' ? [] : e.props ?? [];
    if (tx.w.bulk && !e.routine) return this.insertNow(tx.w, e, named);
    // Copied now: the caller's maps are not ours to keep.
    const props = [...named];
    const values = e.routine ? new Map(detail.values) : undefined;
    tx.w.stage((w) => this.collect(w, e, props, values));
  };

  private collect(w: WriteTx, e: AuditEntry, props: string[], routineValues: Map<string, string> | undefined): void {
    const ns = e.ns ?? '';
    if (routineValues !== undefined) {
      props = this.newsOfBeat(w, e.oid, props, routineValues);
      if (props.length === 0) return;
    }
    const key = `${e.oid}\0${ns}`;
    // Per transaction: on PostgreSQL several commit side by side, each with its own rows.
    let batch = this.pending.get(w);
    if (batch === undefined) this.pending.set(w, (batch = new Map()));
    let p = batch.get(key);
    if (p === undefined) batch.set(key, (p = { class: e.class, oid: e.oid, ns, props: new Set(), created: false, destroyed: false }));
    for (const name of props) p.props.add(name);
    if (e.op === 'CREATE') p.created = true;
    if (e.op === 'DESTROY') p.destroyed = true;
  }

  /** What of a heartbeat is news: last_seen once per interval, other properties when their value moved. */
  private newsOfBeat(w: WriteTx, oid: number, props: string[], values: Map<string, string>): string[] {
    const now = Date.now();
    const clock = this.beats.clockOf(oid);
    const news = props.filter((name) =>
      name === HEARTBEAT_CLOCK ? clock === undefined || now - clock >= this.heartbeatIntervalMs : !this.beats.same(oid, name, values.get(name) ?? ''),
    );
    if (news.length === 0) return news;
    // Remembered once committed: a beat rolled back must not hide the next one.
    const clocked = news.includes(HEARTBEAT_CLOCK) ? now : undefined;
    w.afterCommit(() => {
      const recorded: [string, string][] = [];
      for (const name of news) if (name !== HEARTBEAT_CLOCK) recorded.push([name, values.get(name) ?? '']);
      this.beats.remember(oid, clocked, recorded);
    });
    return news;
  }

  /** A bulk transaction's row, written now (see above). */
  private async insertNow(w: WriteTx, e: AuditEntry, props: readonly string[]): Promise<void> {
    const row = newChange(Date.now(), { class: e.class, oid: e.oid, ns: e.ns ?? '', props, created: e.op === 'CREATE', destroyed: e.op === 'DESTROY' });
    if (w.changes.insertHeld) await w.changes.insertHeld(row);
    else await w.changes.insert(row.at, row.className, row.oid, row.ns, row.props, row.created, row.destroyed);
  }

  /** One row per object and namespace of the batch; the Writer may pause between two. */
  private async insertPending(w: WriteTx): Promise<void> {
    const at = Date.now();
    const batch = this.pending.get(w);
    this.pending.delete(w);
    if (this.writer.concurrent) {
      if (batch === undefined) return;
      const rows = [...batch.values()].map((p) => newChange(at, p));
      // In the COMMIT's message where the backend can: the change log's lock (commit order across nodes) is then
      // held for no round trip; else one statement, so the lock is held for it and the COMMIT only.
      if (w.changes.insertAtCommit) w.changes.insertAtCommit(rows);
      else await w.changes.insertMany(rows);
      return;
    }
    // Set per batch: an id of a batch whose COMMIT failed must never count as durable. A bulk batch wrote its rows
    // as it went: the log's counter, read inside it, is its highest.
    this.committing = w.bulk ? await w.changes.sequence() : 0;
    if (batch === undefined) return;
    for (const p of batch.values()) {
      this.committing = await w.changes.insert(at, p.class, p.oid, p.ns, JSON.stringify([...p.props]), p.created, p.destroyed);
      await w.yieldPoint();
    }
  }

  /**
   * The newest id a reader may be told of: everything at or below it is
   * committed and durable. While a batch of this process awaits its fsync,
   * the newest known durable; otherwise the log's own counter (which also
   * counts commits by other processes, the console's).
   */
  async newest(): Promise<number> {
    // PostgreSQL: the highest id committed (a commit there is durable), by any node.
    const seq = this.shared ? await this.shared.changes.sequence() : this.writer.settling ? this.durableHigh : this.rows!.sequence();
    if (seq > this.durableHigh) this.durableHigh = seq;
    return this.durableHigh;
  }

  /** Changes with `from < id <= to`, oldest first, at most `limit`. */
  async after(from: number, to: number, limit: number): Promise<Change[]> {
    const rows = this.shared ? await this.shared.changes.after(from, to, limit) : this.rows!.after(from, to, limit);
    return rows.map((r: ChangeRow) => ({
      ...r,
      props: JSON.parse(r.props) as string[],
      created: r.created === 1,
      destroyed: r.destroyed === 1,
    }));
  }

  /** The highest id pruning removed (0 when none): a reader positioned below it missed changes. */
  async prunedThrough(): Promise<number> {
    return Number((this.shared ? await this.shared.objects.setting(PRUNED_THROUGH) : this.settings!.setting(PRUNED_THROUGH)) ?? 0);
  }

  /**
   * Deletes the oldest changes beyond the retention, at most PRUNE_CHUNK, in
   * one short maintenance job (it runs while writes are suspended too: upkeep).
   * Resolves to how many rows went; call again while it returns PRUNE_CHUNK.
   */
  async prune(retention: Retention): Promise<number> {
    return this.writer.maintenance(async (w) => {
      const oldest = await w.changes.oldest();
      if (oldest === null) return 0;
      const window = oldest + PRUNE_CHUNK;
      let bound = 0;
      if (retention.count > 0) bound = Math.max(bound, (await this.newest()) - retention.count);
      if (retention.seconds > 0) bound = Math.max(bound, (await w.changes.ageBound(window, Date.now() - retention.seconds * 1000)) ?? 0);
      bound = Math.min(bound, window - 1);
      if (bound < oldest) return 0;
      const gone = await w.changes.prune(bound);
      const before = Number((await w.objects.setting(PRUNED_THROUGH)) ?? 0);
      await w.objects.putSetting(PRUNED_THROUGH, String(Math.max(bound, before)));
      return gone;
    });
  }
}
