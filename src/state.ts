/**
 * Daemon-wide state that commands change: SUSPEND/RESUME, kept in the store so
 * a restart keeps it, and in memory so the check on every write costs no query
 * (only SUSPEND and RESUME of this daemon change it).
 */
import type { Store } from './store/store.js';

const KEY = 'suspended';

export class DaemonState {
  private reason: string | undefined;

  constructor(private readonly store: Store) {
    this.reason = store.setting(KEY);
  }

  /** The reason writes are suspended, or undefined when they are not. */
  get suspended(): string | undefined {
    return this.reason;
  }

  suspend(reason: string): void {
    this.store.putSetting(KEY, reason);
    this.reason = reason;
  }

  resume(): void {
    this.store.putSetting(KEY, undefined);
    this.reason = undefined;
  }
}
