/**
 * Disk full and a read-only state dir, on a small tmpfs this test mounts (it
 * needs root; elsewhere it skips, saying so). A daemon in its own process
 * keeps its whole state there.
 *
 * - Full: writes answer a 5xx with a JSON body (or succeed, while SQLite still
 *   has free pages), reads and PING still answer, an upload leaves no temp
 *   file, the file passes integrity_check, and once space returns writes
 *   succeed again: without a restart (the comment says if one was needed).
 * - Read-only: Linux will not remount a file system read-only while a file on
 *   it is open for writing, and the daemon always holds its database open, so
 *   the case that can happen is a restart onto a state dir that became
 *   read-only: the daemon refuses to start with one clear line (no stack
 *   trace), and starts normally, data intact, once the dir is writable again.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnDaemon, type ChildDaemon } from './helpers/child-daemon.js';
import { ADMIN_PASSWORD, type TestDaemon } from './helpers/daemon.js';
import { login } from './helpers/meeting.js';
import { sendMultipart } from './helpers/multipart.js';
import { HarnessClient, type Answer } from './harness/http-client.js';
import { integrityCheck } from './harness/store-digest.js';
import { reapOnExit } from './harness/reaper.js';

const ENV = { CCED_DB_SYNCHRONOUS: 'FULL' };

function tryMount(dir: string, size: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err).trim();
  }
}

/** Writes until the file system is full (ENOSPC), in ever smaller pieces. */
function fill(file: string): number {
  const fd = openSync(file, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
      const buf = Buffer.alloc(size, 1);
      for (;;) {
        try {
          written += writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

async function start(stateDir: string): Promise<{ d: ChildDaemon; c: HarnessClient; cred: Record<string, string> }> {
  const d = await spawnDaemon(ENV, { stateDir });
  reapOnExit(d.pid);
  const c = new HarnessClient(d.url, 30_000);
  const a = await c.cce({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  return { d, c, cred: { user: 'admin', sessionid: a.json.data.sessionid } };
}

const isServerError = (a: Answer) => a.status >= 500 && a.status < 600 && a.json !== undefined;

const mnt = mkdtempSync(path.join(tmpdir(), 'cced-disk-'));
const mountRefused = tryMount(mnt, '32m');
t.teardown(() => {
  if (mountRefused === undefined) {
    try { execFileSync('umount', ['-l', mnt]); } catch { /* not mounted */ }
  }
  rmSync(mnt, { recursive: true, force: true });
});
const skip = mountRefused && `cannot mount a tmpfs here (${mountRefused}): the disk-full and read-only cases need root`;

t.test('disk full, then a read-only state dir', { skip }, async (t) => {
  const stateDir = path.join(mnt, 'state');
  const db = path.join(stateDir, 'cced.db');
  let { d, c, cred } = await start(stateDir);
  t.teardown(async () => { c.close(); await d.kill(); });
  const acked = new Set<string>();
  const create = async (name: string, extra = '') => {
    const r = await c.cce({ cmd: `CREATE User name="${name}"${extra}`, ...cred });
    if (r.status === 200) acked.add(name);
    return r;
  };
  for (const cmd of ['CREATE DeviceType name="dft"', 'CREATE Distribution name="prod" device_type="dft"']) t.equal((await c.cce({ cmd, ...cred })).status, 200, cmd);
  for (let i = 0; i < 5; i++) t.equal((await create(`before${i}`)).status, 200);
  const bearer = await login(d as unknown as TestDaemon);

  // Full.
  const filler = path.join(mnt, 'filler');
  t.ok(fill(filler) > 0, 'the file system is full');
  const answers: Answer[] = [];
  // Until SQLite finds no free page left; then a few more, which must be refused the same way.
  for (let i = 0, refusals = 0; i < 60 && refusals < 3; i++) {
    answers.push(await create(`full${i}`, ` fullName="${'x'.repeat(8000)}"`));
    if (answers.at(-1)!.status !== 200) refusals++;
  }
  const refused = answers.filter((a) => a.status !== 200);
  t.ok(refused.length > 0, `a write was refused once the disk was full (after ${answers.length - refused.length} still fit)`);
  answers.push(await c.cce({ cmd: `SET 1 hostname="h${'y'.repeat(60)}"`, ...cred }));
  for (const a of answers.filter((x) => x.status !== 200)) {
    t.ok(isServerError(a), `a write on a full disk answers a 5xx with a JSON body: ${a.status} ${a.text.slice(0, 200)}`);
  }
  const content = Buffer.alloc(512 * 1024, 7);
  const up = await sendMultipart(`${d.url}/api/flash/upload`, [
    { name: 'devicetype', value: 'dft' },
    { name: 'distribution', value: 'prod' },
    { name: 'file', filename: 'fw.bin', content, size: content.length },
  ], { headers: { authorization: `Bearer ${bearer}` } });
  t.ok(up !== 'cut' && up.status >= 500 && up.status < 600 && typeof up.body === 'object', `an upload on a full disk answers a 5xx with a JSON body: ${up === 'cut' ? 'cut' : `${up.status} ${up.text.slice(0, 200)}`}`);
  const flashDir = path.join(stateDir, 'flash', 'dft', 'prod');
  t.same(existsSync(flashDir) ? readdirSync(flashDir) : [], [], 'the refused upload left no file, temp file included');
  t.equal((await c.cce({ cmd: 'PING' })).json?.status, 202, 'PING answers on a full disk');
  t.equal((await c.cce({ cmd: 'GET 1', ...cred })).status, 200, 'reads answer on a full disk');
  t.equal(integrityCheck(db), 'ok', 'integrity_check ok while full');

  // Space returns.
  unlinkSync(filler);
  let after = await create('after-space');
  let restarted = false;
  if (after.status !== 200) {
    restarted = true;
    c.close();
    await d.close();
    ({ d, c, cred } = await start(stateDir));
    after = await create('after-space');
  }
  t.equal(after.status, 200, `writes succeed once space returns${restarted ? ' (after a restart)' : ''}`);
  t.comment(restarted ? 'recovery from a full disk needed a restart' : 'recovery from a full disk needed no restart');
  t.equal(integrityCheck(db), 'ok', 'integrity_check ok after the disk was full');
  const names = await c.cce({ cmd: 'FINDX', class: 'User', args: {}, ...cred });
  const all = await c.cce({ cmd: 'GETALL', oids: names.json.data.oidlist, ...cred });
  const present = new Set(Object.values(all.json.data.objects as Record<string, { OBJECT: { name: string } }>).map((o) => o.OBJECT.name));
  t.same([...acked].filter((n) => !present.has(n)), [], `all ${acked.size} acknowledged CREATEs are there`);

  // Read-only: a restart onto it.
  c.close();
  await d.close();
  execFileSync('mount', ['-o', 'remount,ro', mnt]);
  const refusedStart = await spawnDaemon(ENV, { stateDir }).then(
    async (child) => { await child.kill(); return 'started'; },
    (err: Error) => err.message,
  );
  t.match(refusedStart, /daemon exited \(\d+\): cced: .*(read-only|EROFS)/i, `a read-only state dir stops the start with one clear line: ${refusedStart.trim()}`);
  t.notMatch(refusedStart, /\n\s+at /, 'no stack trace');
  execFileSync('mount', ['-o', 'remount,rw', mnt]);
  ({ d, c, cred } = await start(stateDir));
  t.equal((await create('after-read-only')).status, 200, 'writes succeed once the state dir is writable again');
  t.equal(integrityCheck(db), 'ok', 'integrity_check ok after all of it');
  c.close();
  await d.close();
});
