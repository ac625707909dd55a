/** Daemon-wide state that commands change: SUSPEND/RESUME, kept in the store so a restart keeps it. */
import type { Store } from './store/store.js';

const KEY = 'suspended';

export class DaemonState {
  constructor(private readonly store: Store) {}

  /** The reason writes are suspended, or undefined when they are not. */
  get suspended(): string | undefined {
    return this.store.setting(KEY);
  }

  suspend(reason: string): void {
    this.store.putSetting(KEY, reason);
  }

  resume(): void {
    this.store.putSetting(KEY, undefined);
  }
}
