/**
 * Bulk jobs (Writer.submitBulk, what `cced import` runs in): alone in their transaction, all or nothing even
 * when they catch a failed savepoint, and told apart by WriteTx.bulk. What the store's listeners do in bulk
 * (the change log's rows written as they go, one audit line) is driven through the console in
 * test/transfer.test.ts.
 */
import t from 'tap';
import { SYSTEM, type Store } from '../src/store/store.js';
import type { Writer } from '../src/store/writer.js';
import { fileStore } from './helpers/writer-store.js';

const labelled = async (store: Store, label: string) => (await store.find(SYSTEM, 'TxItem', { criteria: [{ ns: '', name: 'label', op: '=', value: label }] })).length;

t.test('a bulk job runs alone in its transaction, between the batches of the jobs around it', async (t) => {
  const { store, writer } = fileStore(t);
  const commits = writer.commits;
  const seen: string[] = [];
  const job = (name: string) => async (w: Parameters<Parameters<Writer['submit']>[0]>[0]) => {
    seen.push(`${name}:${w.bulk}`);
    await store.at(w).create(SYSTEM, 'TxItem', { label: name });
  };
  await Promise.all([writer.submit(job('a')), writer.submit(job('b')), writer.submitBulk(job('bulk')), writer.submit(job('c'))]);
  t.strictSame(seen, ['a:false', 'b:false', 'bulk:true', 'c:false'], 'in the order submitted; only the bulk job is told it is one');
  t.equal(writer.commits - commits, 3, 'a and b together, the bulk job, then c');
});

t.test('a bulk job that throws: its own error, and nothing of it stays', async (t) => {
  const { store, writer } = fileStore(t);
  const doomed = writer.submitBulk(async (w) => {
    for (let i = 0; i < 50; i++) await store.at(w).create(SYSTEM, 'TxItem', { label: 'doomed' });
    throw new Error('the import found a bad line');
  });
  await t.rejects(doomed, { message: 'the import found a bad line' });
  t.equal(await labelled(store, 'doomed'), 0);
  await writer.submit((w) => store.at(w).create(SYSTEM, 'TxItem', { label: 'after' }));
  t.equal(await labelled(store, 'after'), 1, 'the writer goes on');
});

t.test('a savepoint that fails inside a bulk job fails the job, even when the job catches it', async (t) => {
  const { store, writer } = fileStore(t);
  const job = writer.submitBulk(async (w) => {
    await store.at(w).create(SYSTEM, 'TxItem', { label: 'kept?' });
    await w
      .savepoint(async () => {
        await store.at(w).create(SYSTEM, 'TxItem', { label: 'undone' });
        throw new Error('one part failed');
      })
      .catch(() => undefined);
    await store.at(w).create(SYSTEM, 'TxItem', { label: 'kept?' });
    return 'done';
  });
  await t.rejects(job, { message: 'one part failed' });
  t.equal(await labelled(store, 'kept?'), 0, 'none of its writes');
  t.equal(await labelled(store, 'undone'), 0);

  // Outside a bulk job the same savepoint is undone alone.
  const plain = await writer.submit(async (w) => {
    await store.at(w).create(SYSTEM, 'TxItem', { label: 'kept' });
    await w.savepoint(() => Promise.reject(new Error('one part failed'))).catch(() => undefined);
    return 'done';
  });
  t.equal(plain, 'done');
  t.equal(await labelled(store, 'kept'), 1);
});
