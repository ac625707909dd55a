/**
 * SUSPEND shared by the nodes of one database (src/state.ts, `shared`): two
 * stores on one database file, each with its own Writer and DaemonState, as
 * two daemons on one database are. A write submitted on B after A's SUSPEND
 * was acknowledged is refused with 309, whatever B remembered; after A's
 * RESUME, B writes again. Nodes that do not share (the SQLite default) keep
 * the rule in memory.
 */
import t, { type Test } from 'tap';
import { DaemonState } from '../src/state.js';
import { outcome, storesOnOneFile } from './helpers/nodes.js';
import type { OpenStore } from '../src/store/open.js';

async function twoNodes(t: Test, shared: boolean) {
  const nodes: { opened: OpenStore; state: DaemonState }[] = [];
  for (const opened of await storesOnOneFile(t)) {
    const state = await new DaemonState(opened.store, opened.writer, shared).restore();
    t.teardown(() => state.close());
    nodes.push({ opened, state });
  }
  const write = (n: (typeof nodes)[number], value: string) => outcome(n.opened.writer.submit((w) => n.opened.store.at(w).putSetting('probe', value)));
  return { a: nodes[0]!, b: nodes[1]!, write };
}

t.test('shared: a write on B after SUSPEND on A was acknowledged is refused with 309; after RESUME on A it goes through', async (t) => {
  const { a, b, write } = await twoNodes(t, true);
  await write(b, 'before');
  await a.state.suspend('upgrading');
  t.equal(b.state.suspended, undefined, 'B has not read it yet');
  t.strictSame(await write(b, 'during'), { code: 309, message: 'SUSPENDED "upgrading"' }, 'refused by the store read inside the write');
  t.equal(b.state.suspended, 'upgrading', 'and B now knows it (its early refusals follow)');
  t.throws(() => b.state.refuseWhileSuspended(), { code: 309 });
  t.equal(await b.opened.store.setting('probe'), 'before', 'nothing of the refused write is stored');
  t.strictSame(await write(a, 'on A'), { code: 309, message: 'SUSPENDED "upgrading"' }, 'A refuses too');

  await a.state.resume();
  await write(b, 'after');
  t.equal(await a.opened.store.setting('probe'), 'after', 'B writes again once A resumed');
  t.equal(b.state.suspended, undefined);
});

t.test('shared: a node that starts while another suspended writes its start-up, then knows it', async (t) => {
  const [a, b] = await storesOnOneFile(t);
  const running = await new DaemonState(a!.store, a!.writer, true).restore();
  t.teardown(() => running.close());
  await running.suspend('night');
  const starting = new DaemonState(b!.store, b!.writer, true);
  t.teardown(() => starting.close());
  t.equal(await outcome(b!.writer.submit((w) => b!.store.at(w).putSetting('startup', 'done'))), undefined, 'before restore(): its own start-up writes (system maintenance)');
  await starting.restore();
  t.equal(starting.suspended, 'night');
  t.strictSame(await outcome(b!.writer.submit((w) => b!.store.at(w).putSetting('startup', 'again'))), { code: 309, message: 'SUSPENDED "night"' }, 'then refused');
});

t.test('not shared (one node on its file): the rule is the Writer\'s memory, no read per write', async (t) => {
  const { a, write } = await twoNodes(t, false);
  await a.state.suspend('alone');
  t.equal(a.opened.writer.suspension, 'alone');
  t.strictSame(await write(a, 'x'), { code: 309, message: 'SUSPENDED "alone"' });
  await a.state.resume();
  t.equal(a.opened.writer.suspension, undefined);
  await write(a, 'y');
  t.equal(await a.opened.store.setting('probe'), 'y');
});
