/**
 * Daemon-wide state that commands change: SUSPEND/RESUME. The suspension is a
 * setting of the store, so a restart keeps it and every node of a database
 * shares it.
 *
 * One node (SQLite): the rule is the Writer's (every write is refused while
 * `writer.suspension` is set, whichever door submitted it), held in memory,
 * so the check on every write costs no query.
 *
 * Several nodes (PostgreSQL, `shared`): another node may suspend or resume at
 * any moment, so a node's memory is not the truth. Every write job reads the
 * setting inside its own transaction before it runs (one point read), and is
 * refused with 309 when it is set: a write whose transaction starts after a
 * SUSPEND committed on any node sees it (SERIALIZABLE), and one that committed
 * is ordered before the SUSPEND. The node's memory (`suspended`, the early
 * refusals) follows: each such read, the node's own SUSPEND/RESUME, and a read
 * every REFRESH_MS.
 */
import type { Store } from './store/store.js';
import { suspendedError, type Writer, type WriteTx } from './store/writer.js';

const KEY = 'suspended';
/** How often a node of a shared database reads the suspension for its early refusals. */
const REFRESH_MS = 1000;

export class DaemonState {
  /** shared: what this node last read of the setting (the Writer's field stays unset: the store's row is the rule). */
  private known: string | undefined;
  private refresher: NodeJS.Timeout | undefined;
  /** shared: restore() ran; the start-up's own writes before it are system maintenance, as on one node. */
  private restored = false;

  constructor(
    private readonly store: Store,
    private readonly writer: Writer,
    /** Several nodes share the store (src/store/cluster.ts). */
    private readonly shared = false,
  ) {
    if (shared) writer.admitWith((w) => this.checkIn(w));
  }

  /** The reason writes are suspended, or undefined when they are not. */
  get suspended(): string | undefined {
    return this.shared ? this.known : this.writer.suspension;
  }

  /**
   * Refuses early, with the writer's own 309 (503 on the REST doors), work that
   * would end in a refused write: a queued command, a COMMIT's password hashing,
   * an upload's bytes on disk before its store write.
   */
  refuseWhileSuspended(): void {
    const reason = this.suspended;
    if (reason !== undefined) throw suspendedError(reason);
  }

  /**
   * refuseWhileSuspended() that never refuses on a stale memory: on a shared database a remembered
   * suspension is read again first (another node may have resumed). Not remembering one costs nothing: the
   * write itself reads the setting in its transaction.
   */
  async refuseIfStillSuspended(): Promise<void> {
    if (this.shared && this.known !== undefined) this.known = await this.store.setting(KEY);
    this.refuseWhileSuspended();
  }

  /** refuseWhileSuspended(), after reading the setting now on a shared database (a COMMIT keeps its queue when refused). */
  async refuseWhileSuspendedNow(): Promise<void> {
    if (this.shared) this.known = await this.store.setting(KEY);
    this.refuseWhileSuspended();
  }

  /**
   * Puts back the suspension an earlier run recorded. The daemon calls it once
   * its own start-up writes are done (the System object, the admin, api-admin's
   * new password: system maintenance); the console at once.
   */
  async restore(): Promise<this> {
    const reason = await this.store.setting(KEY);
    if (!this.shared) {
      this.writer.suspension = reason;
      return this;
    }
    this.known = reason;
    this.restored = true;
    this.refresher ??= setInterval(() => void this.refresh(), REFRESH_MS);
    this.refresher.unref();
    return this;
  }

  /** In force at once; resolves when persisted (durable as any acknowledged write: a maintenance write). */
  async suspend(reason: string): Promise<void> {
    if (!this.shared) this.writer.suspension = reason;
    await this.writer.maintenance((w) => this.store.at(w).putSetting(KEY, reason));
    this.known = reason;
  }

  async resume(): Promise<void> {
    if (!this.shared) this.writer.suspension = undefined;
    await this.writer.maintenance((w) => this.store.at(w).putSetting(KEY, undefined));
    this.known = undefined;
  }

  /** Stops following the other nodes' suspensions (the daemon stops). */
  close(): void {
    clearInterval(this.refresher);
  }

  /** shared: inside a write's transaction, before the write runs. */
  private async checkIn(w: WriteTx): Promise<void> {
    if (!this.restored) return;
    const reason = await this.store.at(w).setting(KEY);
    this.known = reason;
    if (reason !== undefined) throw suspendedError(reason);
  }

  private async refresh(): Promise<void> {
    try {
      this.known = await this.store.setting(KEY);
    } catch {
      // The next turn reads again; meanwhile the writes themselves still read the setting.
    }
  }
}
