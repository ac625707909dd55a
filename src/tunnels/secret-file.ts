/**
 * Secrets the daemon makes for itself at first start (the SSH host key, the
 * ForceCommand token), kept in the state dir with mode 0600. A file that
 * others may read is refused rather than used: like sshd, the daemon does not
 * trust a secret that may already have leaked.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The file's content, made by `make()` and written 0600 when absent. */
export function readOrCreateSecret(file: string, make: () => string): string {
  try {
    const mode = statSync(file).mode & 0o077;
    if (mode !== 0) throw new Error(`${file} is readable by others (mode ${(mode).toString(8).padStart(3, '0')} beyond 0600): chmod 600 it or delete it to make a new one`);
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const value = make();
  // `wx`: two daemons starting on one state dir cannot overwrite each other's secret.
  writeFileSync(file, value, { mode: 0o600, flag: 'wx' });
  return value;
}
