/**
 * The daemon's writer connection (openSqlite: the daemon and the console)
 * keeps a page cache of WRITER_CACHE_KIB, not the 16 MiB better-sqlite3
 * builds in; a connection opened with openDb alone keeps better-sqlite3's.
 * A store written through it reads back whole.
 */
import t from 'tap';
import path from 'node:path';
import { openDb, WRITER_CACHE_KIB } from '../src/store/sqlite/db.js';
import { openSqlite } from '../src/store/sqlite/backend.js';

t.test("the daemon's writer connection has a page cache of WRITER_CACHE_KIB", async (t) => {
  const file = path.join(t.testdir(), 'cced.db');
  const backend = openSqlite(file);
  t.teardown(() => backend.close());
  t.equal(WRITER_CACHE_KIB, 4000);
  t.equal(backend.db.pragma('cache_size', { simple: true }), -WRITER_CACHE_KIB);
  // More rows than the cache holds pages: written in one transaction (pages spill to the WAL) and read back.
  const put = backend.db.prepare("INSERT INTO objects (class, created_at, updated_at) VALUES ('Bulk', 0, 0)");
  backend.db.transaction(() => {
    for (let i = 0; i < 200_000; i++) put.run();
  })();
  t.equal(backend.db.prepare("SELECT count(*) FROM objects WHERE class = 'Bulk'").pluck().get(), 200_000);
});

t.test('a connection opened alone keeps better-sqlite3 cache size, or the one asked for', async (t) => {
  const dir = t.testdir();
  const plain = openDb(path.join(dir, 'a.db'));
  const sized = openDb(path.join(dir, 'b.db'), { cacheKib: 1000 });
  t.teardown(() => {
    plain.close();
    sized.close();
  });
  t.equal(plain.pragma('cache_size', { simple: true }), -16000);
  t.equal(sized.pragma('cache_size', { simple: true }), -1000);
});
