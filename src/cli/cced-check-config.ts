/**
 * `cced check-config`: the daemon's own start-up checks (src/config/check.ts: values, listen and TLS rules,
 * tunnel ports, the schema), then a read-only look at the store. Creates nothing: no state dir, no database.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { checkStartup } from '../config/check.js';
import type { Config } from '../config/schema.js';
import { MIGRATIONS } from '../store/migrations.js';
import { loadAnnounced, Refusal, type Console } from './cced-context.js';

/**
 * What the store holds; a layout newer than this cced is refused as the daemon would. Only read. The
 * connection is not opened read-only: SQLite gives a WAL database's reader a -wal and -shm file, and
 * only a writable connection removes them again when it is the last to close, leaving the folder as it was.
 */
function storeSummary(config: Config): string {
  if (config.db_path === ':memory:') return 'an in-memory store';
  if (!existsSync(config.db_path)) return `no store yet (the daemon creates ${config.db_path})`;
  const db = new Database(config.db_path, { fileMustExist: true });
  try {
    const layout = db.pragma('user_version', { simple: true }) as number;
    if (layout > MIGRATIONS.length) throw new Refusal(`store: database layout version ${layout} is newer than this cced knows (${MIGRATIONS.length})`);
    const pending = MIGRATIONS.length - layout;
    const objects = layout === 0 ? 0 : (db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n;
    return `${objects} objects${pending > 0 ? ` (${pending} migrations pending; the daemon runs them at start)` : ''}`;
  } finally {
    db.close();
  }
}

export function checkConfigCommand(program: Command, c: Console): void {
  program
    .command('check-config')
    .description("validate the configuration exactly as the daemon does at start (listen and TLS rules, the schema); read-only, creates nothing")
    .action(() => {
      const { config } = loadAnnounced(c);
      const { classes } = checkStartup(config);
      const { host, port } = config.listen_address;
      c.io.out(`configuration ok: listen ${host}:${port}, state ${config.state_dir}, ${classes} classes, ${storeSummary(config)}\n`);
    });
}
