/**
 * BEGIN ... COMMIT sticky to one node (src/cluster/shared-begins.ts), on two
 * nodes' stores sharing one database: the node that took a session's BEGIN
 * holds it; the other refuses the session's writes, COMMIT and BEGIN with 402
 * naming it; a ROLLBACK there ends it everywhere and the holder's COMMIT is
 * then refused; once the holder's COMMIT or ROLLBACK ended it, the other node
 * takes the session's writes again.
 */
import t from 'tap';
import { sharedBegins } from '../src/cluster/shared-begins.js';
import { outcome, storesOnOneFile } from './helpers/nodes.js';

const SESSION = 'ab'.repeat(32);
const HELD_BY_A =
  "BAD COMMAND this session's transaction is open on node https://a.example:9092: send its writes, COMMIT or ROLLBACK there (or ROLLBACK here to end it)";

async function twoNodes(t: Parameters<typeof storesOnOneFile>[0]) {
  const [a, b] = await storesOnOneFile(t);
  return { a: sharedBegins(a!.store, a!.writer, 'https://a.example:9092'), b: sharedBegins(b!.store, b!.writer, undefined) };
}

t.test('the node holding the BEGIN is named by the other, until it ends it', async (t) => {
  const { a, b } = await twoNodes(t);
  t.equal(await outcome(b.refuseHeldElsewhere(SESSION)), undefined, 'no BEGIN anywhere: B takes the write');
  await a.take(SESSION);
  await a.take(SESSION);
  t.pass('a second BEGIN of the same node is the queue\'s own refusal, not this one');
  t.strictSame(await outcome(b.refuseHeldElsewhere(SESSION)), { code: 402, message: HELD_BY_A }, 'a write or COMMIT on B');
  t.strictSame(await outcome(b.take(SESSION)), { code: 402, message: HELD_BY_A }, 'a BEGIN on B');
  t.equal(await outcome(a.stillHeld(SESSION)), undefined, "A's COMMIT goes ahead");
  await b.release(SESSION);
  t.strictSame(await outcome(b.refuseHeldElsewhere(SESSION)), { code: 402, message: HELD_BY_A }, 'B cannot release what A holds');
  await a.release(SESSION);
  t.equal(await outcome(b.refuseHeldElsewhere(SESSION)), undefined, 'after A ended it, B takes the writes again');
  await b.take(SESSION);
  t.strictSame(await outcome(a.refuseHeldElsewhere(SESSION)), { code: 402, message: "BAD COMMAND this session's transaction is open on another node: send its writes, COMMIT or ROLLBACK there (or ROLLBACK here to end it)" }, 'a node without node_url is "another node"');
});

t.test('a ROLLBACK on another node ends the transaction everywhere', async (t) => {
  const { a, b } = await twoNodes(t);
  t.equal(await b.endElsewhere(SESSION), false, 'nothing to end');
  await a.take(SESSION);
  t.equal(await a.endElsewhere(SESSION), false, 'its own: the local ROLLBACK ends it');
  t.equal(await b.endElsewhere(SESSION), true, 'ended from B');
  t.strictSame(await outcome(a.stillHeld(SESSION)), { code: 402, message: 'BAD COMMAND this transaction was ended by a ROLLBACK on another node; nothing of it was applied' }, "A's COMMIT is refused");
  t.equal(await outcome(b.refuseHeldElsewhere(SESSION)), undefined);
});

t.test('two BEGINs of one session on two nodes at once: exactly one node holds it', async (t) => {
  const { a, b } = await twoNodes(t);
  const results = await Promise.all([outcome(a.take(SESSION)), outcome(b.take(SESSION))]);
  t.equal(results.filter((r) => r === undefined).length, 1, JSON.stringify(results));
});

// A direct write of a session asks whether another node holds its BEGIN: the row is read again only once another
// node may have committed (the external version moved) or this node's own BEGIN, COMMIT or ROLLBACK changed it.
t.test("a node reads a session's row again only after a write that may have changed it", async (t) => {
  const [a, b] = await storesOnOneFile(t);
  const reads: string[] = [];
  const setting = b!.store.setting.bind(b!.store);
  b!.store.setting = (key: string) => (reads.push(key), setting(key));
  const onA = sharedBegins(a!.store, a!.writer, 'https://a.example:9092');
  const onB = sharedBegins(b!.store, b!.writer, undefined);
  for (let i = 0; i < 3; i++) t.equal(await outcome(onB.refuseHeldElsewhere(SESSION)), undefined, `write ${i + 1} on B`);
  t.equal(reads.length, 1, 'three writes, nothing committed elsewhere: one read of the row');
  await onA.take(SESSION);
  t.strictSame(await outcome(onB.refuseHeldElsewhere(SESSION)), { code: 402, message: HELD_BY_A }, "A's BEGIN committed: read again, refused");
  t.equal(reads.length, 2);
  t.equal(await onB.endElsewhere(SESSION), true, 'a ROLLBACK on B ends it');
  t.equal(await outcome(onB.refuseHeldElsewhere(SESSION)), undefined, "B's own write forgot what it read: not refused");
});
