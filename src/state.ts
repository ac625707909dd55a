/**
 * Daemon-wide state that commands change: SUSPEND/RESUME. The rule itself is
 * the Writer's (every write is refused while `writer.suspension` is set,
 * whichever door submitted it); this class records it in the store so a
 * restart keeps it. Held in memory, so the check on every write costs no query.
 */
import type { Store } from './store/store.js';
import { suspendedError, type Writer } from './store/writer.js';

const KEY = 'suspended';

export class DaemonState {
  constructor(
    private readonly store: Store,
    private readonly writer: Writer,
  ) {}

  /** The reason writes are suspended, or undefined when they are not. */
  get suspended(): string | undefined {
    return this.writer.suspension;
  }

  /**
   * Refuses early, with the writer's own 309 (503 on the REST doors), work that
   * would end in a refused write: a queued command, a COMMIT's password hashing,
   * an upload's bytes on disk before its store write.
   */
  refuseWhileSuspended(): void {
    const reason = this.writer.suspension;
    if (reason !== undefined) throw suspendedError(reason);
  }

  /**
   * Puts back the suspension an earlier run recorded. The daemon calls it once
   * its own start-up writes are done (the System object, the admin, api-admin's
   * new password: system maintenance); the console at once.
   */
  async restore(): Promise<this> {
    this.writer.suspension = await this.store.setting(KEY);
    return this;
  }

  /** In force at once; resolves when persisted (durable as any acknowledged write: a maintenance write). */
  suspend(reason: string): Promise<void> {
    this.writer.suspension = reason;
    return this.writer.maintenance((w) => this.store.at(w).putSetting(KEY, reason));
  }

  resume(): Promise<void> {
    this.writer.suspension = undefined;
    return this.writer.maintenance((w) => this.store.at(w).putSetting(KEY, undefined));
  }
}
