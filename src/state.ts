/**
 * Daemon-wide state that commands change: SUSPEND/RESUME, kept in the store so
 * a restart keeps it, and in memory so the check on every write costs no query
 * (only SUSPEND and RESUME of this daemon change it).
 */
import type { Store } from './store/store.js';
import type { Writer } from './store/writer.js';

const KEY = 'suspended';

export class DaemonState {
  private reason: string | undefined;

  constructor(
    private readonly store: Store,
    private readonly writer: Writer,
  ) {
    this.reason = store.setting(KEY);
  }

  /** The reason writes are suspended, or undefined when they are not. */
  get suspended(): string | undefined {
    return this.reason;
  }

  /** In force at once; resolves when persisted (through the writer: durable as any acknowledged write). */
  suspend(reason: string): Promise<void> {
    this.reason = reason;
    return this.writer.submit(() => this.store.putSetting(KEY, reason));
  }

  resume(): Promise<void> {
    this.reason = undefined;
    return this.writer.submit(() => this.store.putSetting(KEY, undefined));
  }
}
