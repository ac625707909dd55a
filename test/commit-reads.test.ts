/**
 * A big COMMIT does not stall readers: a daemon on a file database
 * (db_synchronous=FULL, as deployed), a BEGIN queue of a few thousand SETs,
 * and other clients reading over HTTP while it commits. Order, not time:
 * replies sent meanwhile arrive before the COMMIT's, and every one of them
 * shows either the whole state before the COMMIT or the whole state after.
 */
import t from 'tap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, onPostgres, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { keepAliveClient, type KeepAliveClient } from './helpers/keepalive.js';

const ITEMS = 3000;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const d: TestDaemon = await startDaemon({
  config: { db_synchronous: 'FULL', schema_dir: `${path.join(repoRoot, 'schema')},${path.join(repoRoot, 'test', 'fixtures', 'schema')}` },
});
t.teardown(() => d.close());
const writer = d.app.services.writer;

type Cred = { user: string; sessionid: string };

async function session(user: string, password: string): Promise<{ c: KeepAliveClient; cred: Cred }> {
  const c = keepAliveClient(d.url, 8);
  const r = await c.post({ cmd: "AUTH", user, password });
  if (r.body?.data?.sessionid === undefined) throw new Error(`AUTH ${user}: ${JSON.stringify(r)}`);
  t.teardown(() => c.close());
  return { c, cred: { user, sessionid: r.body.data.sessionid } };
}

const admin = await session('admin', ADMIN_PASSWORD);
const post = (cmd: string | Record<string, unknown>, who = admin) => who.c.post({ ...(typeof cmd === 'string' ? { cmd } : cmd), ...who.cred });

/** BEGIN and the commands queued (each must answer 100 QUEUED). */
async function queue(cmds: string[]): Promise<void> {
  const begin = await post('BEGIN');
  if (begin.body.status !== 201) throw new Error(`BEGIN: ${JSON.stringify(begin.body)}`);
  const queued = await admin.c.postAll(cmds.map((cmd) => ({ cmd, ...admin.cred })), 8);
  const refused = queued.find((r) => r.body.status !== 100);
  if (refused) throw new Error(`not queued: ${JSON.stringify(refused.body)}`);
}

const made = await (async () => {
  await queue(Array.from({ length: ITEMS }, (_, i) => `CREATE TxItem seq="${i}" label="old"`));
  const r = await post('COMMIT');
  return (r.body.data.results as { oid: string }[]).map((x) => x.oid);
})();
const labelled = async (label: string) => ((await post({ cmd: 'FINDX', class: 'TxItem', args: { label } })).body.data.oidlist as string[]).length;

/** Replies received by commitWhile() so far, in order (the COMMIT's included). */
let replies = 0;

interface Seen {
  /** Replies received before this one, the COMMIT's included. */
  at: number;
  commitAnswered: boolean;
  what: string;
  value: unknown;
}

/**
 * Sends the COMMIT, then keeps `readers` going (each one request at a time)
 * until its reply has come and one more round after it; every reply noted
 * in the order it arrived.
 */
async function commitWhile(readers: Record<string, () => Promise<unknown>>): Promise<{ commit: { status: number; body: any }; commitAt: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  let answered = false;
  let commitAt = -1;
  const commit = post('COMMIT').then((r) => {
    commitAt = replies++;
    answered = true;
    return r;
  });
  await Promise.all(
    Object.entries(readers).map(async ([what, read]) => {
      for (let after = 0; after < 2; ) {
        if (answered) after++;
        const value = await read();
        seen.push({ at: replies++, commitAnswered: answered, what, value });
      }
    }),
  );
  return { commit: await commit, commitAt, seen };
}

// On PostgreSQL the COMMIT is one database transaction that readers never wait for: no slices to check.
const sqliteSlices = onPostgres && "the SQLite writer's slices of a long COMMIT (Writer.slicedBatches), which pause it for readers";

t.test('reads during a COMMIT are answered before it, and see the whole old state or the whole new one', { skip: sqliteSlices }, async (t) => {
  t.ok(!d.config.db_path.includes(':memory:'), 'a file database');
  const reader2 = await post('CREATE User name="reader2" password="reader2-password"');
  const other = await session('reader2', 'reader2-password');
  t.equal((await post(`GET ${reader2.body.data.oid}`, other)).body.status, 201, 'reader2 is in');
  const slicedBefore = writer.slicedBatches;
  // The COMMIT also disables reader2: its session works until the COMMIT lands, and never after.
  await queue([...made.map((oid) => `SET ${oid} label="new"`), `SET ${reader2.body.data.oid} enabled="0"`]);
  // The COMMIT's batch is under way once its first SET has run inside it (on a loaded machine another, small batch
  // may pause too, before the COMMIT is even sent: slicedBatches alone does not say which batch paused).
  let commitRunning = false;
  const firstOfCommit = Number(made[0]);
  const unlisten = d.app.services.store.onWrite((e) => {
    if (e.op === 'SET' && e.oid === firstOfCommit) commitRunning = true;
  });
  t.teardown(unlisten);
  let writeAfter: Promise<{ at: number; status: number }> | undefined;
  const reader2Oid = reader2.body.data.oid as string;
  const { commit, commitAt, seen } = await commitWhile({
    find: async () => ((await post({ cmd: 'FINDX', class: 'TxItem', args: { label: 'new' } })).body.data.oidlist as string[]).length,
    get: async () => {
      // A write sent while the COMMIT's batch is under way (it has paused once): it waits for the next batch.
      if (commitRunning && writer.slicedBatches > slicedBefore) writeAfter ??= post(`SET ${made[0]} label="after"`).then((r) => ({ at: replies++, status: r.body.status }));
      return (await post(`GET ${made[0]}`)).body.data.DATA.label;
    },
    ping: async () => (await admin.c.post({ cmd: 'PING' })).body.status,
    self: async () => (await post(`GET ${reader2Oid}`, other)).body.status,
  });
  t.equal(commit.body.status, 201, 'COMMIT successful');
  t.ok(writer.slicedBatches > slicedBefore, 'the COMMIT ran in slices');

  const before = seen.filter((s) => !s.commitAnswered);
  const after = seen.filter((s) => s.commitAnswered);
  for (const what of ['find', 'get', 'ping', 'self']) t.ok(before.some((s) => s.what === what), `${what} answered before the COMMIT's reply`);
  t.ok(
    seen.filter((s) => s.what === 'find').every((s) => s.value === 0 || s.value === ITEMS || (s.at > commitAt && s.value === ITEMS - 1)),
    'FINDX label="new" found none or all of them, never a part (all but the one written after it)',
  );
  t.ok(before.some((s) => s.what === 'find' && s.value === 0), 'while the COMMIT ran, readers saw the old state');
  // The write sent meanwhile (label="after") may land before the last reads.
  t.ok(after.filter((s) => s.what === 'find').every((s) => s.value === ITEMS || s.value === ITEMS - 1), 'after its reply, the new one');
  t.ok(seen.filter((s) => s.what === 'get').every((s) => s.value === 'old' || s.value === 'new' || s.value === 'after'), 'a GET shows a whole value');
  t.ok(before.some((s) => s.what === 'get' && s.value === 'old'));
  t.ok(after.filter((s) => s.what === 'self').every((s) => s.value !== 201), 'reader2, disabled by the COMMIT, is out after it');
  t.ok(before.some((s) => s.what === 'self' && s.value === 201), 'and was in while it ran (nothing read meanwhile was kept)');

  const late = await writeAfter!;
  t.equal(late.status, 201);
  t.ok(late.at > commitAt, 'the write sent during the COMMIT was answered after it');
  t.equal((await post(`GET ${made[0]}`)).body.data.DATA.label, 'after', 'and landed after it');
  t.equal(await labelled('new'), ITEMS - 1);
});

t.test('a COMMIT whose last write fails leaves nothing, and readers never saw a part of it', async (t) => {
  const victim = (await post('CREATE TxItem label="victim"')).body.data.oid as string;
  // The SET at the end passes the checks made when it is queued (the object exists then) and fails at COMMIT.
  await queue([...made.map((oid) => `SET ${oid} label="doomed"`), `DESTROY ${victim}`, `SET ${victim} label="x"`]);
  const { commit, seen } = await commitWhile({
    find: () => labelled('doomed'),
    get: async () => (await post(`GET ${victim}`)).body.status,
  });
  t.equal(commit.body.status, 409, 'the COMMIT failed');
  t.equal(commit.body.data.rolled_back, true);
  t.equal(commit.body.data.errors.length, 1, 'because of its last write');
  t.ok(seen.filter((s) => !s.commitAnswered).length > 0, 'readers were answered while it ran');
  t.ok(seen.filter((s) => s.what === 'find').every((s) => s.value === 0), 'no reader ever saw one of its writes');
  t.ok(seen.filter((s) => s.what === 'get').every((s) => s.value === 201), 'nor its DESTROY');
  t.equal(await labelled('doomed'), 0, 'nothing of it is left');
  t.equal((await post(`GET ${victim}`)).body.status, 201, 'the object it destroyed is there');
});
