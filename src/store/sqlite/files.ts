/**
 * The store as a file: its check, summary, online backup and restore, for the
 * console (src/cli/cced-backup.ts, cced-check-config.ts) through ../files.ts.
 * Each opens its own connection to the file; none opens the store.
 */
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, openSync, readSync, renameSync, rmSync, ftruncateSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

/** A file that is not a store this cced can use, or a store it may not touch now; the message says why. */
export class StoreFileError extends Error {}

/** Checks a database file is a whole store this cced can open: integrity, layout, objects. */
export function inspectStoreFile(file: string): { objects: number; layout: number } {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new StoreFileError(`${file}: ${(err as Error).message}`);
  }
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new StoreFileError(`${file}: integrity_check says ${String(check)}`);
    const layout = db.pragma('user_version', { simple: true }) as number;
    if (layout < 1 || layout > MIGRATIONS.length) throw new StoreFileError(`${file}: not a store of this cced (database layout version ${layout}, known 1 to ${MIGRATIONS.length})`);
    return { objects: db.prepare('SELECT count(*) FROM objects').pluck().get() as number, layout };
  } catch (err) {
    if (err instanceof StoreFileError) throw err;
    throw new StoreFileError(`${file}: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

/**
 * What an existing store file holds, only read: its layout, how many layouts this cced knows, its objects.
 * The connection is not opened read-only: SQLite gives a WAL database's reader a -wal and -shm file, and
 * only a writable connection removes them again when it is the last to close, leaving the folder as it was.
 */
export function storeFileSummary(file: string): { layout: number; known: number; objects: number } {
  const db = new Database(file, { fileMustExist: true });
  try {
    const layout = db.pragma('user_version', { simple: true }) as number;
    const objects = layout === 0 || layout > MIGRATIONS.length ? 0 : (db.prepare('SELECT count(*) FROM objects').pluck().get() as number);
    return { layout, known: MIGRATIONS.length, objects };
  } finally {
    db.close();
  }
}

/**
 * Copies the store to `target` with SQLite's online backup API through its own connection, so a daemon
 * keeps serving writes: after SQLite's first 100 pages, the rest in one step (one read transaction, so no
 * write can restart it). The copy is one self-contained file (journal_mode DELETE), owner-only.
 */
export async function backupStoreFile(file: string, target: string): Promise<void> {
  const source = new Database(file, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    await source.backup(target, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
  const copy = new Database(target);
  copy.pragma('journal_mode = DELETE');
  copy.close();
  chmodSync(target, 0o600);
}

/**
 * Replaces the store `file` with the checked backup `from`, keeping the replaced one as `kept`; refused
 * (StoreFileError) while any other connection has it open. The exclusive lock is taken first and held until
 * the store's bytes are the backup's: the file is rewritten in place (same inode), never renamed away, so a
 * process that opens it meanwhile waits for the lock and then reads the restored store, never the old one.
 * Returns whether there was a store to replace.
 */
export function restoreStoreFile(from: string, file: string, kept: string): boolean {
  if (!existsSync(file)) {
    const partial = `${file}.restoring`;
    copyFileSync(from, partial);
    chmodSync(partial, 0o600);
    renameSync(partial, file);
    return false;
  }
  const db = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    try {
      // Exclusive locking mode: the lock BEGIN EXCLUSIVE takes stays held until this connection closes.
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      db.exec('COMMIT');
      // Everything of the WAL into the file, and no WAL left: the file alone is the whole store.
      db.pragma('journal_mode = DELETE');
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new StoreFileError(`the store ${file} is open in another process (a running daemon?): stop it, then restore`);
      throw err;
    }
    copyFileSync(file, kept);
    chmodSync(kept, 0o600);
    overwrite(file, from);
    for (const side of ['-wal', '-shm', '-journal']) rmSync(file + side, { force: true });
    return true;
  } finally {
    // Nothing is pending: closing writes nothing to the file, and releases the lock.
    db.close();
  }
}

/** Makes `file`'s bytes those of `from`, in place, synced. */
function overwrite(file: string, from: string): void {
  const out = openSync(file, 'r+');
  const input = openSync(from, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let at = 0;
    for (let n; (n = readSync(input, buf, 0, buf.length, at)) > 0; at += n) writeSync(out, buf, 0, n, at);
    ftruncateSync(out, at);
    fsyncSync(out);
  } finally {
    closeSync(input);
    closeSync(out);
  }
}
