/**
 * Closing a SQLite store ends every connection to its file before it
 * resolves: the store's own, the reader's, the checkpoint thread's and each
 * search thread's, idle or in the middle of a search. A restart, a backup
 * or a test reading the file after close() then meets no connection still
 * open (one could still write the WAL, or hold it).
 */
import t from 'tap';
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { openSqlite } from '../src/store/sqlite/backend.js';
import type { FindSpec } from '../src/store/port.js';

/** The descriptors of this process open on the store's file, its WAL or its shared memory. */
function openOn(file: string): string[] {
  const fds = readdirSync('/proc/self/fd');
  const targets = fds.flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return []; // closed between the listing and the read
    }
  });
  return targets.filter((p) => p === file || p === `${file}-wal` || p === `${file}-shm`);
}

async function seeded(dir: string) {
  const file = path.join(dir, 'store.db');
  const backend = openSqlite(file);
  await backend.async.transaction(async (tx) => {
    for (let i = 0; i < 2000; i++) {
      const oid = await tx.objects.insertObject('Thing', 1);
      await tx.objects.putValue(oid, '', 'name', 'Thing', `${'a'.repeat(40)}${i}`);
    }
  });
  return { file, backend };
}

const search = (value: string): FindSpec => ({ className: 'Thing', driver: -1, terms: [{ ns: '', name: 'name', op: '~', value, array: false, orMissing: false }] });

t.test('close() resolves once every thread has closed its connection to the file', async (t) => {
  const { file, backend } = await seeded(t.testdir());
  t.equal((await backend.searches!.find(search('9$'), { cpuMs: 0, wallMs: 0 }).all()).length, 200, 'a search ran on a thread');
  t.ok(openOn(file).length > 0, 'the file is open while the store is');
  await backend.close();
  t.strictSame(openOn(file), [], 'no connection left open on the file, its WAL or its shared memory');
});

t.test('a search thread busy with a search when the store closes: ended, its connection closed, its search refused', async (t) => {
  const { file, backend } = await seeded(t.testdir());
  // A pattern slow over every value (RE2 stays linear, but not cheap): the thread is busy when close() comes.
  const running = backend.searches!.find(search(`(a|aa|a?){30}(x|y|z){20}b`), { cpuMs: -60_000, wallMs: -60_000 }).all();
  const refused = t.rejects(running, 'the running search ends with an error');
  await new Promise((resolve) => setTimeout(resolve, 100));
  await backend.close();
  const left = openOn(file);
  await refused;
  t.strictSame(left, [], 'no connection left open on the file, its WAL or its shared memory');
});
