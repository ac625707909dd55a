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
 * exclusive lock first, which an open WAL connection holds off, and holds it until the store is replaced
 * (src/store/sqlite/files.ts), so no process can open the store between the check and the replacement.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { StoreFileError, backupStoreFile, inspectStoreFile, restoreStoreFile } from '../store/files.js';
import { loadAnnounced, Refusal, type Console } from './cced-context.js';

/** The store's own refusals (a damaged file, a store in use) as the console's. */
function refusing<R>(fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StoreFileError) throw new Refusal(err.message);
    throw err;
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
      await backupStoreFile(config.db_path, partial);
      const { objects, layout } = refusing(() => inspectStoreFile(partial));
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
      const { objects } = refusing(() => inspectStoreFile(file));
      mkdirSync(path.dirname(config.db_path), { recursive: true, mode: 0o700 });
      const keptAs = `${config.db_path}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const kept = refusing(() => restoreStoreFile(file, config.db_path, keptAs)) ? keptAs : '';
      c.io.out(`restored ${objects} objects from ${file} into ${config.db_path}${kept ? `; the replaced store is kept as ${kept}` : ''}\n`);
    });
}
