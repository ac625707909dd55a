/** Opens the SQLite file, sets the pragmas and runs pending migrations. */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export interface OpenOptions {
  synchronous?: 'FULL' | 'NORMAL';
  /** The connection's page cache, KiB; unset: better-sqlite3's 16 MiB. */
  cacheKib?: number;
}

/**
 * The page cache of the daemon's writer connection (openSqlite), KiB: not the
 * 16 MiB better-sqlite3 builds in. Measured on a 100k fleet after every device
 * beat once (test/bench/scale-memory.ts, two runs each): RSS 181-184 MiB with
 * 16 MiB, 171-174 with 4 MiB, 168-171 with 2 MB, the CPU a beat within the
 * runs' spread. A page not cached is one pread from the system's page cache;
 * 4 MiB rather than 2 leaves a big transaction (a COMMIT's queue, an import)
 * room before it spills pages to the WAL. A transaction bigger than the cache
 * spills most of its pages before COMMIT whatever the size (inside the
 * Writer's slices); the COMMIT statement, which holds the event loop, writes
 * what is left: less with a smaller cache (test/bench/scale-commit-statement.ts).
 */
export const WRITER_CACHE_KIB = 4000;

export function openDb(file: string, { synchronous = 'FULL', cacheKib }: OpenOptions = {}): Db {
  if (file !== ':memory:') {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // The file holds password hashes: create it owner-only whatever the umask. SQLite gives its -wal and
    // -shm files the mode of the database file, so they follow.
    closeSync(openSync(file, 'a', 0o600));
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: an acknowledged commit survives power loss, not only a process crash.
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Negative: SQLite's unit for a size in KiB.
  if (cacheKib !== undefined) db.pragma(`cache_size = -${cacheKib}`);
  migrate(db);
  return db;
}

export function migrate(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database layout version ${current} is newer than this cced knows (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length - current;
}
