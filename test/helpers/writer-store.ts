/** A Store and its Writer on a SQLite file of its own (removed at teardown), over the test schema. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite } from '../../src/store/sqlite/backend.js';
import { Store } from '../../src/store/store.js';
import { Writer } from '../../src/store/writer.js';
import { loadSchema } from '../../src/schema/loader.js';

export const testSchema = loadSchema(['schema', 'test/fixtures/schema']);

export function fileStore(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-writer-'));
  const backend = openSqlite(path.join(dir, 'cced.db'), { synchronous: 'NORMAL' });
  const store = new Store(backend, testSchema);
  const writer = new Writer(backend);
  t.teardown(() => {
    writer.close();
    backend.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { backend, store, writer };
}
