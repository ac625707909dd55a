/**
 * `cced backup` and `cced restore` through the real executable, beside a real daemon (its own process)
 * that keeps acknowledging writes: the backup holds every write acknowledged before it began and passes
 * integrity_check; restore refuses while the daemon has the store open, and replaces it once stopped.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startMain, withoutCced } from './helpers/main-process.js';
import { runTs } from './helpers/spawn.js';
import { ADMIN_PASSWORD, CceClient, type TestDaemon } from './helpers/daemon.js';
import { MIGRATIONS } from '../src/store/sqlite/migrations.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cced-backup-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);
const cced = (state: string, args: string[]) => runTs('src/cli/cced-bin.ts', args, { env: { ...withoutCced(), CCED_STATE_DIR: state } });

function usersIn(dbFile: string): { names: Set<string>; integrity: unknown } {
  const db = new Database(dbFile, { readonly: true });
  try {
    const rows = db.prepare("SELECT value FROM props WHERE class = 'User' AND ns = '' AND name = 'name'").all() as { value: string }[];
    return { names: new Set(rows.map((r) => r.value)), integrity: db.pragma('integrity_check', { simple: true }) };
  } finally {
    db.close();
  }
}

t.test('a backup during a stream of acknowledged writes, and its restore', async (t) => {
  const state = f('live');
  const daemon = await startMain([], { CCED_STATE_DIR: state, CCED_LISTEN_ADDRESS: '127.0.0.1:0', CCED_ADMIN_PASSWORD: ADMIN_PASSWORD, CCED_DB_SYNCHRONOUS: 'FULL' });
  let stopped = false;
  t.teardown(() => daemon.stop());
  // A firmware file, to be listed in the manifest.
  mkdirSync(path.join(state, 'flash', 'rpi4', 'prod'), { recursive: true });
  writeFileSync(path.join(state, 'flash', 'rpi4', 'prod', 'fw.bin'), 'firmware bytes');

  const admin = await new CceClient({ url: daemon.url } as TestDaemon).login();
  const acked: string[] = [];
  const writer = async (w: number) => {
    for (let i = 0; !stopped; i++) {
      const name = `w${w}-${i}`;
      const r = await admin.cmd(`CREATE User name="${name}"`);
      if (r.status !== 200) throw new Error(`${name}: ${r.text}`);
      acked.push(name);
    }
  };
  const writers = [0, 1, 2, 3].map(writer);
  while (acked.length < 50) await new Promise((r) => setTimeout(r, 20));

  const file = f('store.backup');
  const ackedBefore = [...acked];
  const backup = await cced(state, ['backup', file]);
  const ackedDuring = acked.length - ackedBefore.length;
  stopped = true;
  await Promise.all(writers);
  t.equal(backup.code, 0, backup.stderr);
  t.ok(ackedDuring > 0, `writes kept being acknowledged while the backup ran (${ackedDuring})`);
  t.match(backup.stdout, new RegExp(`^backed up \\d+ objects \\(layout ${MIGRATIONS.length}, integrity ok\\) to ${file}; 1 firmware and media files listed in ${file}.files.sha256\\n$`));
  t.equal(statSync(file).mode & 0o777, 0o600);
  const copy = usersIn(file);
  t.equal(copy.integrity, 'ok', 'PRAGMA integrity_check');
  t.strictSame(ackedBefore.filter((n) => !copy.names.has(n)), [], `every one of the ${ackedBefore.length} writes acknowledged before the backup began is in it`);
  const fw = path.join(state, 'flash', 'rpi4', 'prod', 'fw.bin');
  t.equal(readFileSync(`${file}.files.sha256`, 'utf8'), `${createHash('sha256').update('firmware bytes').digest('hex')}  ${fw}\n`, 'the manifest, as sha256sum -c reads it');

  const twice = await cced(state, ['backup', file]);
  t.strictSame([twice.code, twice.stderr.split('\n')[1]], [1, `cced: ${file} exists: a backup is written to a new file only`]);

  // Restore: refused while the daemon has the store open, and the store is left as it was.
  const held = await cced(state, ['restore', file]);
  t.equal(held.code, 1);
  t.equal(held.stderr.split('\n')[1], `cced: the store ${state}/cced.db is open in another process (a running daemon?): stop it, then restore`);
  t.equal((await admin.cmd('PING')).status, 200, 'the daemon serves on');
  const live = usersIn(path.join(state, 'cced.db'));
  t.equal(live.names.size, usersIn(path.join(state, 'cced.db')).names.size);
  t.ok(acked.every((n) => live.names.has(n)), 'every acknowledged write still there');

  // Into a fresh state dir (a new host): the copy as it was.
  const fresh = f('fresh');
  const restored = await cced(fresh, ['restore', file]);
  t.equal(restored.code, 0, restored.stderr);
  t.equal(restored.stdout, `restored ${copy.names.size + 1} objects from ${file} into ${fresh}/cced.db\n`);
  t.strictSame(usersIn(path.join(fresh, 'cced.db')), copy);

  // Over the stopped daemon's store: replaced, the old one kept beside it.
  await daemon.stop();
  const replaced = usersIn(path.join(state, 'cced.db'));
  const inode = statSync(path.join(state, 'cced.db')).ino;
  const over = await cced(state, ['restore', file]);
  t.equal(over.code, 0, over.stderr);
  t.match(over.stdout, new RegExp(`; the replaced store is kept as ${state}/cced\\.db\\.before-restore-`));
  t.strictSame(usersIn(path.join(state, 'cced.db')), copy);
  t.equal(statSync(path.join(state, 'cced.db')).ino, inode, 'rewritten in place under the lock: whoever opens the path next reads the restored store');
  const kept = readdirSync(state).filter((n) => n.startsWith('cced.db.before-restore-'));
  t.equal(kept.length, 1);
  t.strictSame(usersIn(path.join(state, kept[0]!)), replaced, 'the replaced store, whole, beside it');
  t.strictSame(readdirSync(state).filter((n) => /^cced\.db-(wal|shm|journal)$/.test(n)), [], 'no journal left of the replaced store');
  const again = await startMain([], { CCED_STATE_DIR: state, CCED_LISTEN_ADDRESS: '127.0.0.1:0', CCED_DB_SYNCHRONOUS: 'NORMAL' });
  t.teardown(() => again.stop());
  const back = await new CceClient({ url: again.url } as TestDaemon).login();
  t.equal((await back.cmd(`FIND User name = "${ackedBefore[0]}"`)).body.data.oidlist.length, 1, 'the daemon starts on the restored store');
});

t.test('what restore refuses', async (t) => {
  writeFileSync(f('not-a-store'), 'hello');
  const bad = await cced(f('x'), ['restore', f('not-a-store')]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, `cced: ${f('not-a-store')}: `);
  t.notOk(existsSync(f('x')), 'nothing made');
  const help = await cced(f('x'), ['restore', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: cced restore \[options\] <file>/);
});
