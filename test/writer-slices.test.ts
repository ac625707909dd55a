/**
 * Long batches in slices (src/store/writer.ts, sqlite/reader.ts) and WAL
 * checkpoints on their own thread (sqlite/checkpoints.ts), on the store
 * itself: what code running between two slices reads, writes and caches.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDb } from '../src/store/sqlite/db.js';
import { openSqlite, sqliteBackend, type SqliteBackend } from '../src/store/sqlite/backend.js';
import { Store, SYSTEM } from '../src/store/store.js';
import { SLICE_MS, Writer } from '../src/store/writer.js';
import { loadSchema } from '../src/schema/loader.js';

const schema = loadSchema(['schema', 'test/fixtures/schema']);
const ITEMS = 3000;

function fileStore(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-slices-'));
  const backend = openSqlite(path.join(dir, 'cced.db'), { synchronous: 'NORMAL' });
  const store = new Store(backend, schema);
  const writer = new Writer(backend);
  t.teardown(() => {
    writer.close();
    backend.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { backend, store, writer };
}

/** Runs `fn` in the next turns of the event loop until `done` resolves; returns what it returned each time. */
async function meanwhile<T>(done: Promise<unknown>, fn: () => T): Promise<T[]> {
  const seen: T[] = [];
  let over = false;
  void done.finally(() => (over = true)).catch(() => {});
  while (!over) {
    await new Promise((r) => setImmediate(r));
    if (!over) seen.push(fn());
  }
  return seen;
}

/** Turns of the event loop until the writer's transaction is open and paused (bounded: a checkpoint may run first). */
async function untilPaused(store: Store): Promise<boolean> {
  const until = Date.now() + 20_000;
  while (Date.now() < until && !store.inTransaction()) await new Promise((r) => setImmediate(r));
  return store.inTransaction();
}

const labelled = (store: Store, label: string) => store.find(SYSTEM, 'TxItem', { criteria: [{ ns: '', name: 'label', op: '=', value: label }] }).length;

t.test('a sliced mutation pauses; reads meanwhile see the state before it, and nothing is cached from them', async (t) => {
  const { store, writer } = fileStore(t);
  const oids = await writer.submit(() => Array.from({ length: ITEMS }, (_, i) => store.create(SYSTEM, 'TxItem', { seq: String(i), label: 'old' })));
  const first = oids[0]!;
  t.equal(store.get(SYSTEM, first).values.label, 'old', 'read (and remembered) before the COMMIT');

  const commit = writer.submitSliced(function* () {
    for (const oid of oids) {
      store.set(SYSTEM, oid, '', { label: 'new' });
      yield;
    }
    return 'done';
  });
  const seen = await meanwhile(commit, () => ({ label: store.get(SYSTEM, first).values.label, news: labelled(store, 'new'), inTx: store.inTransaction() }));
  t.equal(await commit, 'done');
  t.ok(seen.length > 0, `served ${seen.length} turns of the event loop while it ran (slices of ${SLICE_MS} ms)`);
  t.ok(writer.slicedBatches >= 1, 'the batch paused');
  t.ok(seen.every((s) => s.label === 'old' && s.news === 0), 'every read until it resolved saw the whole old state');
  t.ok(seen.filter((s) => s.inTx).length >= writer.slicedBatches, 'reads ran while the transaction was open (no cache is filled then)');
  t.equal(store.get(SYSTEM, first).values.label, 'new', 'after the commit, the new value (nothing stale kept)');
  t.equal(labelled(store, 'new'), ITEMS, 'the whole of it');
});

t.test('a search with a pattern while a batch pauses runs on a search thread, over what is committed', async (t) => {
  const { store, writer } = fileStore(t);
  const oids = await writer.submit(() => Array.from({ length: ITEMS }, (_, i) => store.create(SYSTEM, 'TxItem', { seq: String(i), label: 'old' })));
  const search = () => store.findPage(SYSTEM, 'TxItem', { criteria: [{ ns: '', name: 'label', op: '~', value: '^ne' }] }, { limit: 10 * ITEMS, maxScan: 10 * ITEMS });
  const commit = writer.submitSliced(function* () {
    for (const oid of oids) {
      store.set(SYSTEM, oid, '', { label: 'new' });
      yield;
    }
  });
  t.ok(await untilPaused(store), 'the batch is open and paused');
  // A thread answers in a later turn of the event loop; a search on the loop would answer before any turn.
  const found = search();
  const turns = await meanwhile(found, () => true);
  t.ok(turns.length > 0, `the event loop turned ${turns.length} times while the search ran`);
  const n = (await found).oids.length;
  t.ok(n === 0 || n === ITEMS, `none or all of the batch's writes is found (the thread reads what is committed when it runs), never part: ${n}`);
  await commit;
  t.equal((await search()).oids.length, ITEMS, 'after the commit, all of them');
});

t.test('a sliced mutation that throws leaves nothing, and the batch around it commits', async (t) => {
  const { store, writer } = fileStore(t);
  const oids = await writer.submit(() => Array.from({ length: ITEMS }, (_, i) => store.create(SYSTEM, 'TxItem', { seq: String(i), label: 'old' })));
  const before = writer.submit(() => store.create(SYSTEM, 'TxItem', { label: 'beside' }));
  const doomed = writer.submitSliced(function* () {
    for (const oid of oids) {
      store.set(SYSTEM, oid, '', { label: 'doomed' });
      yield;
    }
    throw new Error('the last write failed');
  });
  const after = writer.submit(() => store.create(SYSTEM, 'TxItem', { label: 'beside' }));
  const seen = await meanwhile(doomed, () => labelled(store, 'doomed'));
  await t.rejects(doomed, /the last write failed/);
  t.ok(seen.length > 0 && seen.every((n) => n === 0), 'readers never saw a write of it');
  t.equal(labelled(store, 'doomed'), 0, 'all of it rolled back');
  t.ok((await before) > 0 && (await after) > 0, 'the writes beside it in the batch committed');
  t.equal(labelled(store, 'beside'), 2);
});

t.test('writes submitted while a batch pauses run after it, in order', async (t) => {
  const { store, writer } = fileStore(t);
  const oids = await writer.submit(() => Array.from({ length: ITEMS }, () => store.create(SYSTEM, 'TxItem', {})));
  const order: string[] = [];
  const commit = writer
    .submitSliced(function* () {
      for (const oid of oids) {
        store.set(SYSTEM, oid, '', { label: 'commit' });
        yield;
      }
    })
    .then(() => order.push('commit'));
  t.ok(await untilPaused(store), 'paused');
  const later = [1, 2, 3].map((n) => writer.submit(() => store.set(SYSTEM, oids[0]!, '', { label: `later ${n}` })).then(() => order.push(`later ${n}`)));
  await Promise.all([commit, ...later]);
  t.strictSame(order, ['commit', 'later 1', 'later 2', 'later 3']);
  t.equal(store.get(SYSTEM, oids[0]!).values.label, 'later 3', 'the last one submitted landed last');
});

t.test('nothing writes outside the writer while its transaction pauses', async (t) => {
  const { store, writer } = fileStore(t);
  const oids = await writer.submit(() => Array.from({ length: ITEMS }, () => store.create(SYSTEM, 'TxItem', {})));
  const commit = writer.submitSliced(function* () {
    for (const oid of oids) {
      store.set(SYSTEM, oid, '', { label: 'x' });
      yield;
    }
  });
  t.ok(await untilPaused(store), 'paused');
  t.throws(() => store.set(SYSTEM, oids[0]!, '', { label: 'sneaked' }), /readonly/, 'a store write meets the read-only connection');
  t.throws(() => writer.savepoint(() => 1), /paused/, 'a savepoint is refused');
  t.throws(() => writer.afterCommit(() => {}), /paused/);
  await commit;
  t.equal(store.get(SYSTEM, oids[0]!).values.label, 'x');
});

t.test('a memory database has no reader: a sliced mutation runs in one go', async (t) => {
  const db = openDb(':memory:');
  const store = new Store(sqliteBackend(db), schema);
  const writer = new Writer(sqliteBackend(db));
  let turns = 0;
  const tick = setInterval(() => turns++, 0);
  const n = await writer.submitSliced(function* () {
    for (let i = 0; i < ITEMS; i++) {
      store.create(SYSTEM, 'TxItem', {});
      yield;
    }
    return ITEMS;
  });
  clearInterval(tick);
  t.equal(n, ITEMS);
  t.equal(writer.slicedBatches, 0, 'never paused');
  db.close();
});

t.test('checkpoints run on their own thread, never in COMMIT', async (t) => {
  const { backend, store, writer } = fileStore(t);
  const db = (backend as SqliteBackend).db;
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, "SQLite's own checkpoint in COMMIT is off");
  await writer.submit(() => {
    for (let i = 0; i < ITEMS; i++) store.create(SYSTEM, 'TxItem', { label: 'checkpointed' });
  });
  const checkpoints = (backend as SqliteBackend).checkpoints!;
  // Bounded: on a busy machine the thread may take seconds to load (under the test runner, it compiles TypeScript).
  for (let i = 0; i < 600 && checkpoints.runs === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(checkpoints.runs >= 1, 'the commit started a checkpoint on the thread');
  t.ok(checkpoints.lastCopied > 0, `it copied ${checkpoints.lastCopied} WAL frames`);
  // The next write runs after it and starts the WAL over: a checkpoint then has (almost) nothing left to copy.
  await writer.submit(() => store.create(SYSTEM, 'TxItem', {}));
  const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
  t.ok(log < 50, `the WAL was restarted (${log} frames in it)`);
});

t.test("if the checkpoint thread dies, SQLite's own checkpoints come back", async (t) => {
  const { backend, store, writer } = fileStore(t);
  const db = (backend as SqliteBackend).db;
  const errors: unknown[] = [];
  const failing = new Writer(backend, (err) => errors.push(err));
  await failing.submit(() => store.create(SYSTEM, 'TxItem', {}));
  const thread = (backend as unknown as { checkpoints: { worker: { terminate(): Promise<number> } } }).checkpoints.worker;
  await thread.terminate();
  for (let i = 0; i < 100 && db.pragma('wal_autocheckpoint', { simple: true }) === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'autocheckpoint is on again');
  t.match(String(errors[0]), /checkpoint thread exited/, 'and the failure was reported');
  t.ok((await writer.submit(() => store.create(SYSTEM, 'TxItem', {}))) > 0, 'writes go on');
});
