/**
 * Two nodes' stores on one database, in this process: each its own Store and
 * Writer over one SQLite file, as two daemons on one database have (their
 * writes serialized by the database, their memories apart). For the shared
 * pieces' own rules (src/state.ts, src/cluster/), which hold on any database
 * that several writers share; the daemons on PostgreSQL are in the multinode
 * daemon tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { resolveConfig } from '../../src/config/load.js';
import { openStore, type OpenStore } from '../../src/store/open.js';

export async function storesOnOneFile(t: { teardown(fn: () => unknown): void }, count = 2): Promise<OpenStore[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-nodes-'));
  const config = resolveConfig({ state_dir: dir, db_synchronous: 'NORMAL' });
  const stores = await Promise.all(Array.from({ length: count }, () => openStore(config, pino({ level: 'silent' }))));
  t.teardown(async () => {
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return stores;
}

/** What a promise settled with: its value, or a CceError's code and message (else the error). */
export async function outcome<T>(p: Promise<T>): Promise<T | { code: number; message: string } | unknown> {
  try {
    return await p;
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    return typeof e.code === 'number' ? { code: e.code, message: e.message } : err;
  }
}
