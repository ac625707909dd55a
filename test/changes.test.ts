/**
 * The change log on its own (src/store/changes.ts) with the Writer's staging:
 * what lands in the log for nested savepoints, failed jobs, a failed COMMIT,
 * writes outside any transaction; durability of what readers are told
 * (syncWal); pruning by count and by age, in chunks.
 */
import t from 'tap';
import path from 'node:path';
import { openDb, type Db } from '../src/store/sqlite/db.js';
import { sqliteBackend } from '../src/store/sqlite/backend.js';
import { Store, SYSTEM } from '../src/store/store.js';
import { Writer } from '../src/store/writer.js';
import { ChangeLog, PRUNE_CHUNK } from '../src/store/changes.js';
import { loadSchema } from '../src/schema/loader.js';

const schema = loadSchema(['schema']);

function open(db: Db = openDb(':memory:'), opts: { syncWal?: boolean; heartbeatMs?: number } = {}) {
  const store = new Store(sqliteBackend(db), schema);
  const writer = new Writer(sqliteBackend(db), () => {}, { syncWal: opts.syncWal ?? false });
  writer.onBeforeCommit(() => store.sealOids());
  const changes = new ChangeLog(sqliteBackend(db), writer, opts.heartbeatMs ?? 60_000);
  store.onWrite(changes.record);
  const rows = async () => (await changes.after(0, Number.MAX_SAFE_INTEGER, 1_000_000)).map((c) => ({ oid: c.oid, ns: c.ns, props: c.props, created: c.created, destroyed: c.destroyed }));
  return { db, store, writer, changes, rows };
}

t.test('savepoints: a rolled-back inner write leaves nothing; the kept ones merge per object and namespace', async (t) => {
  const { store, writer, rows } = open();
  const oid = await writer.submit(async (w) => {
    const oid = await store.at(w).create(SYSTEM, 'User', { name: 'a' });
    await store.at(w).set(SYSTEM, oid, '', { fullName: 'A' });
    try {
      await w.savepoint(async () => {
        await store.at(w).set(SYSTEM, oid, '', { description: 'undone' });
        throw new Error('undo');
      });
    } catch {
      // the inner write is gone, and so is its change
    }
    await store.at(w).set(SYSTEM, oid, 'Email', { forwardEnable: '1' });
    return oid;
  });
  const failed = writer.submit(async (w) => {
    await store.at(w).set(SYSTEM, oid, '', { sortName: 'never' });
    throw new Error('job fails');
  });
  await t.rejects(failed);
  t.strictSame(await rows(), [
    { oid, ns: '', props: ['name', 'fullName'], created: true, destroyed: false },
    { oid, ns: 'Email', props: ['forwardEnable'], created: false, destroyed: false },
  ]);
});

t.test('every write, start-up paths too, is a Writer job: the change log records it with its batch', async (t) => {
  const { store, writer, rows } = open();
  t.notOk('create' in store, 'the shared Store has no write: only store.at(w), inside a transaction, writes');
  const oid = await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'early' }));
  t.strictSame(await rows(), [{ oid, ns: '', props: ['name'], created: true, destroyed: false }]);
  await writer.submit((w) => w.savepoint(() => store.at(w).set(SYSTEM, oid, '', { fullName: 'E' })));
  t.equal((await rows()).length, 2);
});

t.test('a COMMIT that fails records nothing and its ids are never told as durable', async (t) => {
  const { db, store, writer, changes, rows } = open();
  await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'kept' }));
  const head = await changes.newest();
  // The COMMIT statement itself fails: a hook before it throws (as a full disk would make COMMIT throw).
  let fail = true;
  writer.onBeforeCommit(() => {
    if (fail) throw new Error('disk full');
  });
  await t.rejects(writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'lost' })), { code: 500 });
  fail = false;
  t.equal(await changes.newest(), head);
  t.equal((await rows()).length, 1);
  await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'next' }));
  t.equal(await changes.newest(), head + 1, 'the next id follows the last committed one');
  t.equal(db.inTransaction, false);
});

t.test('with syncWal, readers are told of a batch only once its fsync completed', async (t) => {
  const dir = t.testdir({});
  const db = openDb(path.join(dir, 'c.db'));
  t.teardown(() => db.close());
  const { store, writer, changes } = open(db, { syncWal: true });
  const before = await changes.newest();
  const durable: number[] = [];
  // Read when the batch turns durable (on SQLite the head is taken before the first await).
  writer.onDurable(() => void changes.newest().then((n) => durable.push(n)));
  const p = writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'w' }));
  // Committed, not yet synced: the head has not moved.
  await new Promise((r) => setImmediate(r));
  if (writer.settling) t.equal(await changes.newest(), before, 'in flight: the last durable head');
  await p;
  t.equal(await changes.newest(), before + 1);
  t.strictSame(durable, [before + 1]);
  writer.close();
});

t.test('heartbeats: last_seen once per interval, other values when they move', async (t) => {
  const { store, writer, rows } = open(openDb(':memory:'), { heartbeatMs: 0 });
  const catalog = await writer.submit((w) => store.at(w).create(SYSTEM, 'Device', { device_key: 'HB0001', token_code: '0123456789abcdef' }));
  const beat = (ip: string) => writer.submit((w) => store.at(w).set(SYSTEM, catalog, '', { last_seen: new Date().toISOString(), ip_address: ip }, { routine: true }));
  await beat('10.0.0.1');
  await beat('10.0.0.1');
  await beat('10.0.0.2');
  // Interval 0: every beat's last_seen is news; an unchanged address is not.
  t.strictSame((await rows()).slice(1).map((r) => r.props), [['last_seen', 'ip_address'], ['last_seen'], ['last_seen', 'ip_address']]);
  const slow = open(openDb(':memory:'), { heartbeatMs: 3_600_000 });
  const d = await slow.writer.submit((w) => slow.store.at(w).create(SYSTEM, 'Device', { device_key: 'HB0002', token_code: '0123456789abcdef' }));
  for (const ip of ['10.0.0.1', '10.0.0.1', '10.0.0.3']) {
    await slow.writer.submit((w) => slow.store.at(w).set(SYSTEM, d, '', { last_seen: new Date().toISOString(), ip_address: ip }, { routine: true }));
  }
  t.strictSame((await slow.rows()).slice(1).map((r) => r.props), [['last_seen', 'ip_address'], ['ip_address']], 'within the hour: only the moved address');
});

t.test('pruning: by count and by age, at most PRUNE_CHUNK rows a transaction, remembered as pruned', async (t) => {
  const { db, store, writer, changes } = open();
  const n = PRUNE_CHUNK + 500;
  await writer.submit(async (w) => {
    for (let i = 0; i < n; i++) await store.at(w).create(SYSTEM, 'User', { name: `p${i}` });
  });
  const count = () => (db.prepare('SELECT count(*) AS n FROM changes').get() as { n: number }).n;
  t.equal(count(), n);
  t.equal(await changes.prune({ count: 0, seconds: 0 }), 0, 'no retention: nothing goes');
  t.equal(await changes.prune({ count: 100, seconds: 0 }), PRUNE_CHUNK, 'one chunk at a time');
  t.equal(await changes.prune({ count: 100, seconds: 0 }), n - 100 - PRUNE_CHUNK);
  t.equal(count(), 100);
  t.equal(await changes.prunedThrough(), n - 100);
  // By age: the oldest 30 are made a day old.
  db.prepare('UPDATE changes SET at = at - 86400000 WHERE id <= ?').run(n - 70);
  t.equal(await changes.prune({ count: 0, seconds: 3600 }), 30);
  t.equal(await changes.prunedThrough(), n - 70);
  t.equal(await changes.prune({ count: 0, seconds: 3600 }), 0);
  db.exec('DELETE FROM changes');
  t.equal(await changes.prune({ count: 1, seconds: 1 }), 0, 'an empty log');
});
