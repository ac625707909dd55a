/**
 * `cced backup FILE` and `cced restore FILE`.
 *
 * backup copies the database with SQLite's online backup API through its own connection, so the daemon
 * keeps serving writes: the copy is one consistent state of the store (SQLite restarts the copy when another
 * connection writes between two steps, and the copy is taken in one step after the first 100 pages). The
 * firmware and media files are not in the database: FILE.files.sha256 lists each with its sha256
 * (`sha256sum -c` reads it) so a copy of those folders can be checked (docs/operations.md).
 *
 * restore refuses while any process (a daemon, a console command) has the store open: it takes SQLite's
 * exclusive lock first, which an open WAL connection holds off.
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { MIGRATIONS } from '../store/migrations.js';
import { loadAnnounced, Refusal, type Console } from './cced-context.js';

/** Checks a database file is a whole store this cced can open: integrity, layout, objects. */
function inspect(file: string): { objects: number; layout: number } {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Refusal(`${file}: ${(err as Error).message}`);
  }
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Refusal(`${file}: integrity_check says ${String(check)}`);
    const layout = db.pragma('user_version', { simple: true }) as number;
    if (layout < 1 || layout > MIGRATIONS.length) throw new Refusal(`${file}: not a store of this cced (database layout version ${layout}, known 1 to ${MIGRATIONS.length})`);
    return { objects: (db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n, layout };
  } catch (err) {
    if (err instanceof Refusal) throw err;
    throw new Refusal(`${file}: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

/** Every regular file under `dir`, with its path relative to nothing (absolute). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** True when another connection, in this process or another, has the database open. */
function storeInUse(dbPath: string): boolean {
  const db = new Database(dbPath, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return true;
    throw err;
  } finally {
    // Closing the last connection in exclusive mode checkpoints the WAL into the file and deletes it.
    db.close();
  }
}

export function backupCommands(program: Command, c: Console): void {
  program
    .command('backup <file>')
    .description("copy the store to a new FILE with SQLite's online backup API (consistent while the daemon serves writes), and list the firmware and media files with their sha256 in FILE.files.sha256")
    .action(async (file: string) => {
      const { config } = loadAnnounced(c);
      if (!existsSync(config.db_path)) throw new Refusal(`no store at ${config.db_path}`);
      if (existsSync(file)) throw new Refusal(`${file} exists: a backup is written to a new file only`);
      const partial = `${file}.partial`;
      rmSync(partial, { force: true });
      const source = new Database(config.db_path, { fileMustExist: true });
      try {
        source.pragma('busy_timeout = 5000');
        // After SQLite's first 100 pages, the rest in one step: one read transaction, so no write can restart it.
        await source.backup(partial, { progress: () => 0x7fffffff });
      } finally {
        source.close();
      }
      const copy = new Database(partial);
      copy.pragma('journal_mode = DELETE'); // one self-contained file
      copy.close();
      chmodSync(partial, 0o600);
      const { objects, layout } = inspect(partial);
      renameSync(partial, file);
      const files = [...filesUnder(config.flash_storage_root), ...filesUnder(config.player_storage_root)];
      const manifest: string[] = [];
      for (const f of files) manifest.push(`${await sha256(f)}  ${f}\n`);
      writeFileSync(`${file}.files.sha256`, manifest.join(''), { mode: 0o600 });
      c.io.out(`backed up ${objects} objects (layout ${layout}, integrity ok) to ${file}; ${files.length} firmware and media files listed in ${file}.files.sha256\n`);
    });

  program
    .command('restore <file>')
    .description('replace the store with a backup (checked first); refused while a daemon or any other process has the store open; the replaced database is kept beside it')
    .action((file: string) => {
      const { config } = loadAnnounced(c);
      const { objects } = inspect(file);
      mkdirSync(path.dirname(config.db_path), { recursive: true, mode: 0o700 });
      let kept = '';
      if (existsSync(config.db_path)) {
        if (storeInUse(config.db_path)) throw new Refusal(`the store ${config.db_path} is open in another process (a running daemon?): stop it, then restore`);
        kept = `${config.db_path}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        renameSync(config.db_path, kept);
        for (const side of ['-wal', '-shm']) rmSync(config.db_path + side, { force: true });
      }
      const partial = `${config.db_path}.restoring`;
      copyFileSync(file, partial);
      chmodSync(partial, 0o600);
      renameSync(partial, config.db_path);
      c.io.out(`restored ${objects} objects from ${file} into ${config.db_path}${kept ? `; the replaced store is kept as ${kept}` : ''}\n`);
    });
}
