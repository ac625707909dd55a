/**
 * The daemon's store opened a second time, through a connection of its own (the admin console's way, or
 * another node's): its SQLite file, or its PostgreSQL database under TEST_STORE=postgres. Closed when `t` ends.
 */
import pino from 'pino';
import { openStore, type OpenStore } from '../../src/store/open.js';
import type { TestDaemon } from './daemon.js';

export async function otherConnection(t: { teardown(fn: () => unknown): void }, d: TestDaemon): Promise<OpenStore> {
  const other = await openStore(d.config, pino({ level: 'silent' }));
  t.teardown(() => other.close());
  return other;
}
