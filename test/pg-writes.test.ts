/**
 * Writes on PostgreSQL. The Writer's group commit there (src/store/writer.ts flushTogether). What a
 * PostgreSQL write transaction leaves for its COMMIT message (src/store/postgres/backend.ts): the
 * objects' touches and the change rows travel with the COMMIT, so nothing holds the change log's lock across
 * a round trip. A touch made in a savepoint that rolled back is not written; one kept is. Skipped, with the
 * reason, without a PostgreSQL (never in CI: TEST_REQUIRE_POSTGRES=1).
 */
import t from 'tap';
import { openPostgres } from '../src/store/postgres/backend.js';
import { Touches } from '../src/store/postgres/objects.js';
import { ConcurrentHost } from '../src/store/concurrent-host.js';
import { Writer, type WriteTx } from '../src/store/writer.js';
import { testDatabase } from './helpers/postgres.js';

t.test('Touches: the latest time per oid; a savepoint rolled back takes back its own touches only', async (t) => {
  const touches = new Touches();
  touches.touch(1, 100);
  const mark = touches.mark();
  touches.touch(1, 200);
  touches.touch(2, 150);
  touches.touch(1, 120);
  t.equal(touches.statement(), 'UPDATE objects SET updated_at = v.at FROM (VALUES (1::bigint, 200::bigint), (2::bigint, 150::bigint)) AS v(oid, at) WHERE objects.oid = v.oid');
  touches.rollbackTo(mark);
  t.equal(touches.size, 1);
  t.equal(touches.statement(), 'UPDATE objects SET updated_at = v.at FROM (VALUES (1::bigint, 100::bigint)) AS v(oid, at) WHERE objects.oid = v.oid');
  const unsafe = new Touches();
  unsafe.touch(3, 2 ** 53 + 2);
  t.throws(() => unsafe.statement(), /not a safe integer/, 'only safe integers are written into the message');
});

t.test('on PostgreSQL: the touches and change rows of a transaction are written by its COMMIT, a rolled-back savepoint\'s not', async (t) => {
  const db = await testDatabase(t);
  if (db.skip !== undefined) return t.pass('skipped: no PostgreSQL', { skip: db.skip });
  const backend = await openPostgres(db.url, { max: 2 });
  t.teardown(() => backend.close());
  const [kept, undone] = await backend.transaction(async (tx) => [await tx.objects.insertObject('User', 1), await tx.objects.insertObject('User', 1)]);
  await backend.transaction(async (tx) => {
    await tx.objects.touch(kept, 500);
    await tx.savepoint(() => tx.objects.touch(undone, 600)).catch(() => undefined);
    await tx
      .savepoint(async () => {
        await tx.objects.touch(undone, 700);
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    tx.changes.insertAtCommit!([{ at: 9, className: "it's", oid: kept, ns: '', props: '["a\\\\b"]', created: false, destroyed: false }]);
  });
  const { rows } = await backend.pool.query<{ oid: number; updated_at: number }>('SELECT oid, updated_at FROM objects ORDER BY oid');
  t.strictSame(rows.map((r) => [Number(r.oid), Number(r.updated_at)]), [
    [kept, 500],
    [undone, 600],
  ]);
  t.strictSame(await backend.changes.after(0, await backend.changes.sequence(), 10), [
    { id: 1, at: 9, class: "it's", oid: kept, ns: '', props: '["a\\\\b"]', created: 0, destroyed: 0 },
  ], 'the change row, its quotes and backslashes as given');
});

t.test('on PostgreSQL the Writer commits the jobs of one turn together; one that fails is undone alone', async (t) => {
  const db = await testDatabase(t);
  if (db.skip !== undefined) return t.pass('skipped: no PostgreSQL', { skip: db.skip });
  const backend = await openPostgres(db.url, { max: 2 });
  t.teardown(() => backend.close());
  const writer = new Writer(new ConcurrentHost(backend));
  const setting = (key: string, value: string) => (w: WriteTx) => w.objects.putSetting(key, value);
  // Submitted in one turn: one batch. The second fails after writing; the others commit, in one transaction.
  const replies = await Promise.allSettled([
    writer.submit(setting('a', '1')),
    writer.submit(async (w) => {
      await w.objects.putSetting('b', '1');
      throw new Error('refused');
    }),
    writer.submit(async (w) => (await w.objects.setting('a')) ?? 'unset'),
    writer.submit(setting('c', '1')),
  ]);
  t.strictSame(
    replies.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [undefined, 'refused', '1', undefined],
    'each job answered: the third read the first one\'s write',
  );
  t.strictSame([await backend.objects.setting('a'), await backend.objects.setting('b'), await backend.objects.setting('c')], ['1', undefined, '1'], 'the failed job left nothing');
  t.equal(writer.commits, 1, 'one transaction committed');
  // Ten SETs of one row from one node in one turn: one batch, in order, no conflict between them.
  const tens = await Promise.all(Array.from({ length: 10 }, (_, i) => writer.submit(async (w) => (await w.objects.putSetting('n', String(i)), i))));
  t.strictSame(tens, [...Array(10).keys()]);
  t.equal(await backend.objects.setting('n'), '9', 'the last one submitted is the value');
  t.equal(writer.commits, 2);
});
