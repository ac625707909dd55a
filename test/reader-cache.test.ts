/**
 * The read connection (src/store/sqlite/reader.ts) keeps SQLite's own page
 * cache size, not the 16 MiB better-sqlite3 builds in; the writer's keeps it.
 */
import t from 'tap';
import path from 'node:path';
import { openDb } from '../src/store/sqlite/db.js';
import { openReader, READER_CACHE_KIB } from '../src/store/sqlite/reader.js';

t.test("the reader's page cache is SQLite's default, the writer's better-sqlite3's", async (t) => {
  const file = path.join(t.testdir(), 'cced.db');
  const writer = openDb(file);
  const reader = openReader(file);
  t.teardown(() => {
    reader.close();
    writer.close();
  });
  t.equal(reader.pragma('cache_size', { simple: true }), -READER_CACHE_KIB);
  t.equal(READER_CACHE_KIB, 2000);
  t.equal(writer.pragma('cache_size', { simple: true }), -16000);
  t.equal(reader.prepare('SELECT count(*) FROM objects').pluck().get(), 0, 'and it reads');
});
