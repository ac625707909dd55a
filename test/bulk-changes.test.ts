/**
 * The change log of a bulk write (Writer.submitBulk, what `cced import` runs in), on the store a daemon uses:
 * its rows appear only once it committed, all of them, after the ids of what committed before it; on
 * PostgreSQL another node writes and commits while the bulk transaction is open (its rows are held by the
 * database until its COMMIT, the change log's lock taken then only).
 */
import t from 'tap';
import { pino } from 'pino';
import { onPostgres, startDaemon } from './helpers/daemon.js';
import { openStore } from '../src/store/open.js';
import { SYSTEM } from '../src/store/store.js';

t.test('a bulk transaction: its change rows at its COMMIT, all of them; another node writes meanwhile', async (t) => {
  const d = await startDaemon();
  const config = d.config;
  await d.close();
  const a = await openStore(config, pino({ level: 'silent' }));
  t.teardown(() => a.close());
  // Opened first: opening a store on PostgreSQL checks its unique indexes, which waits for open writers.
  const b = onPostgres ? await openStore(config, pino({ level: 'silent' })) : undefined;
  if (b) t.teardown(() => b.close());
  const names = ['bulk-a', 'bulk-b', 'bulk-c'];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let wrote!: () => void;
  const written = new Promise<void>((resolve) => (wrote = resolve));
  const before = await a.changes.newest();
  const bulk = a.writer.submitBulk(async (w) => {
    const oids: number[] = [];
    for (const name of names) oids.push(await a.store.at(w).create(SYSTEM, 'DeviceType', { name }));
    wrote();
    await gate;
    return oids;
  });
  await written;
  t.equal(await a.changes.newest(), before, 'nothing of it is in the log while it is open');

  if (b) {
    // Another node: its write commits while the bulk transaction is open (the change log's lock is not held yet).
    const other = await b.writer.submit((w) => b.store.at(w).create(SYSTEM, 'DeviceType', { name: 'other-node' }));
    const [row] = await b.changes.after(before, await b.changes.newest(), 10);
    t.strictSame([row?.oid, row?.created], [other, true], "the other node's change is in the log first");
  }
  release();
  const oids = await bulk;
  const rows = (await a.changes.after(before, await a.changes.newest(), 100)).filter((r) => oids.includes(r.oid));
  t.strictSame(
    rows.map((r) => [r.oid, r.class, r.created]),
    oids.map((oid) => [oid, 'DeviceType', true]),
    'one row per creation, in order',
  );
  t.ok(rows.every((r, i) => i === 0 || r.id > rows[i - 1]!.id));
});
