/**
 * The store's revisions (Store.revision(), what its caches are keyed on) move
 * with every write however far the external version (SQLite's data_version,
 * a PostgreSQL node's write version) has gone: a revision built by scaling
 * that version up would pass 2^53 and stop moving with local writes, and a
 * cached read would then be served stale. And a read's answer is cached only
 * if nothing was written between the read and its answer.
 */
import t from 'tap';
import { openDb } from '../src/store/sqlite/db.js';
import path from 'node:path';
import { openSqlite, sqliteBackend } from '../src/store/sqlite/backend.js';
import { Store, SYSTEM } from '../src/store/store.js';
import { Writer } from '../src/store/writer.js';
import { loadSchema } from '../src/schema/loader.js';

t.test('a write is seen by the next read with the external version past 2^21', async (t) => {
  const db = openDb(':memory:');
  const backend = sqliteBackend(db);
  let external = 2 ** 22;
  backend.objects.externalVersion = () => external;
  const store = new Store(backend, loadSchema(['schema']));
  const writer = new Writer(backend);
  const oid = await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'u1', fullName: 'First' }));
  const read = async () => (await store.get(SYSTEM, oid)).values.fullName;
  t.equal(await read(), 'First', 'read once (and cached)');
  const before = store.revision('User');
  await writer.submit((w) => store.at(w).set(SYSTEM, oid, '', { fullName: 'Second' }));
  t.not(store.revision('User'), before, 'the local write moves the revision');
  t.equal(await read(), 'Second', 'the next read sees it');
  external += 1;
  await new Promise((r) => setImmediate(r));
  t.not(store.revision('User'), before + 1, 'another process committing moves it too');
  db.close();
});

t.test('a read answered after a batch wrote and committed is not cached under the new revision', async (t) => {
  const backend = openSqlite(path.join(t.testdir(), 'store.db'));
  t.teardown(() => backend.close());
  const reads = backend.async.objects;
  const real = reads.classAndValues.bind(reads);
  let hold: Promise<void> | undefined;
  // A read made now whose answer comes only once `hold` settles: the batch below runs in between.
  reads.classAndValues = async (oid, ns) => {
    const answer = await real(oid, ns);
    await hold;
    return answer;
  };
  const store = new Store(backend, loadSchema(['schema']));
  const writer = new Writer(backend);
  const oid = await writer.submit((w) => store.at(w).create(SYSTEM, 'User', { name: 'u1', fullName: 'First' }));
  let release!: () => void;
  hold = new Promise((r) => (release = r));
  const slow = store.get(SYSTEM, oid);
  await writer.submit((w) => store.at(w).set(SYSTEM, oid, '', { fullName: 'Second' }));
  release();
  t.equal((await slow).values.fullName, 'First', 'the slow read answers what was committed when it was made');
  hold = undefined;
  t.equal((await store.get(SYSTEM, oid)).values.fullName, 'Second', 'and the next read is not served it from the cache');
  writer.close();
});
