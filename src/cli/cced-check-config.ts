/**
 * `cced check-config`: the daemon's own start-up checks (src/config/check.ts: values, listen and TLS rules,
 * tunnel ports, the schema), then a read-only look at the store. Creates nothing: no state dir, no database.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { checkStartup } from '../config/check.js';
import type { Config } from '../config/schema.js';
import { storeFileSummary } from '../store/files.js';
import { loadAnnounced, Refusal, storeName, type Console } from './cced-context.js';

/** What the store holds; a layout newer than this cced is refused as the daemon would. Only read. */
function storeSummary(config: Config): string {
  // Not opened: check-config reads a file only. The URL's user and password are left out (db_url is a secret).
  if (config.db_url !== '') return `the ${storeName(config)} database (not opened here)`;
  if (config.db_path === ':memory:') return 'an in-memory store';
  if (!existsSync(config.db_path)) return `no store yet (the daemon creates ${config.db_path})`;
  const { layout, known, objects } = storeFileSummary(config.db_path);
  if (layout > known) throw new Refusal(`store: database layout version ${layout} is newer than this cced knows (${known})`);
  const pending = known - layout;
  return `${objects} objects${pending > 0 ? ` (${pending} migrations pending; the daemon runs them at start)` : ''}`;
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
