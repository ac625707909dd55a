/**
 * Searches with client patterns run off the event loop: while a hostile
 * search runs (seconds of pattern work over thousands of long values), PING
 * and other requests are answered before it, the search still ends with its
 * exact 403 (or its exact page), and the store is unchanged. Several searches
 * at once each keep their own time limit. Searches inside BEGIN and the
 * facades' look-ups keep working. On PostgreSQL (TEST_STORE=postgres) the
 * patterns run on the event loop, which the filter gives back between values
 * (postgres/find.ts), and each search counts only its own time there
 * (ClientPatterns' spans): the same answers, the same order.
 */
import t, { type Test } from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDaemon, adminClient, http, onPostgres, CceClient, type HttpResult, type TestDaemon } from './helpers/daemon.js';
import { failure, makeUser, snapshot } from './helpers/replies.js';
import { adminRest } from './helpers/meeting.js';
import { SYSTEM, Store } from '../src/store/store.js';
import { sqliteBackend } from '../src/store/sqlite/backend.js';
import { openDb } from '../src/store/sqlite/db.js';
import { SqliteSearchThreads } from '../src/store/sqlite/search-threads.js';
import { SearchStopped } from '../src/store/safe-regex.js';
import { Writer } from '../src/store/writer.js';
import type { FindSpec } from '../src/store/port.js';
import { loadSchema } from '../src/schema/loader.js';

/** Long values of `a` and `b` (a fixed seed); every tenth ends with `!`. */
const USERS = 1500;
function fullName(i: number): string {
  let x = i + 1;
  let s = '';
  for (let k = 0; k < 3999; k++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    s += (x >> 16) & 1 ? 'a' : 'b';
  }
  return s + (i % 10 === 0 ? '!' : 'c');
}

/** ~0.5 s per value: re2js's literal and DFA shortcuts do not apply, so every search runs into its time limit. */
const HOSTILE = '(?i)a.{1000}[cd]x';
/** The pattern: linear on RE2, yet ~0.06 ms per value, so a search over the class takes a while. */
const DOTS = '.*.*.*.*.*.*.*.*!';
const stopped = (ms: number) => failure([403, `BAD PARAMETERS regex search stopped after ${ms} ms: narrow it with an exact criterion or a simpler pattern`]);
/** The CPU limit; on a machine that gives the search thread almost no CPU, the wall-clock one. */
const STOPPED = [stopped(2000), stopped(6000)];

/** USERS users with long names, in one write; their oids. */
function createUsers(d: TestDaemon): Promise<number[]> {
  const { store, writer } = d.app.services;
  return writer.submit(async (w) => {
    const out: number[] = [];
    for (let i = 0; i < USERS; i++) out.push(await store.at(w).create(SYSTEM, 'User', { name: `long${i}`, fullName: fullName(i) }));
    return out;
  });
}

async function seeded(): Promise<{ d: TestDaemon; admin: CceClient; mallory: CceClient; oids: number[] }> {
  const d = await startDaemon();
  const oids = await createUsers(d);
  const admin = await adminClient(d);
  const { client: mallory } = await makeUser(admin, 'mallory', 'mallory-pw');
  return { d, admin, mallory, oids };
}

let shared: ReturnType<typeof seeded> | undefined;
/**
 * The seeded daemon of the cases that need no configuration of their own (seeding is most of their time, on
 * PostgreSQL above all): each reads it as the one before left it, and only the last writes. Closed with the file.
 */
function seededOnce(): ReturnType<typeof seeded> {
  return (shared ??= seeded().then((s) => (t.teardown(() => s.d.close()), s)));
}

/**
 * Whether a search holds the event loop for none of its time (SQLite: a search thread). On PostgreSQL the
 * patterns run on the loop, given back between two values: a request waits for the value being tested (about
 * half a second for HOSTILE, more on a loaded machine), so whether five requests in a row come before the
 * search's end depends on the machine; there they are sent while it runs and each must answer exactly.
 */
const offTheLoop = !onPostgres;

/**
 * Sends `search`, then `others` one after another while it runs: each of
 * them must be answered before the search is (order, not time), where
 * searches run off the event loop.
 */
async function whileSearching(t: Test, search: Promise<HttpResult>, others: (() => Promise<void>)[]): Promise<HttpResult> {
  let answered = false;
  const reply = search.then((r) => ((answered = true), r));
  for (const [i, other] of others.entries()) {
    await other();
    if (offTheLoop) t.notOk(answered, `request ${i + 1} answered while the search still runs`);
  }
  return reply;
}

const ping = (t: Test, d: TestDaemon) => async () => {
  t.strictSame((await http(`${d.url}/v2/cce`, { cmd: 'PING' })).body, { status: 202, message: 'PONG' });
};

t.test('a hostile search holds no other request, and ends with its exact 403; the store is unchanged', async (t) => {
  const { d, admin, mallory } = await seededOnce();
  const before = await snapshot(admin);
  const search = mallory.cmd({ cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: HOSTILE } });
  const whoami = async () => {
    t.equal((await admin.cmd('WHOAMI')).body.status, 201, 'WHOAMI answers');
  };
  const reply = await whileSearching(t, search, [ping(t, d), ping(t, d), whoami, ping(t, d), ping(t, d)]);
  t.ok(STOPPED.some((s) => isDeepStrictEqual(reply.body, s)), `the time limit's 403: ${reply.text}`);
  t.strictSame(await snapshot(admin), before, 'the store is unchanged');
});

t.test('searches at once each get their own answer and their own time limit', async (t) => {
  const { d, admin, mallory, oids } = await seededOnce();
  const bangs = oids.filter((_, i) => i % 10 === 0).map(String);
  const hostile = () => mallory.cmd({ cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: HOSTILE } });
  const [one, two, dots, find] = await Promise.all([
    hostile(),
    hostile(),
    mallory.cmd({ cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: DOTS } }),
    mallory.cmd(`FIND User fullName ~ "${DOTS}"`),
    ping(t, d)(),
  ]);
  for (const r of [one, two]) t.ok(STOPPED.some((s) => isDeepStrictEqual(r.body, s)), `each hostile search: its own 403: ${r.text.slice(0, 200)}`);
  t.strictSame(dots.body, { status: 201, message: 'OK', data: { oidlist: bangs } }, 'FINDX beside them: its exact page');
  t.strictSame(find.body, { status: 201, message: 'GOODBYE', data: { oidlist: bangs } }, 'FIND ~ beside them: its exact page');

  // Bounded paging answers as ever: pages of max_scan_rows candidates, cursors, the same union.
  const first = await admin.cmd({ cmd: 'GETALL', class: 'User', regex_args: { fullName: DOTS } });
  t.strictSame(Object.keys(first.body.data.objects), bangs, 'GETALL: every match');
  const one1 = await admin.cmd({ cmd: 'GETOBJECT', class: 'User', regex_args: { fullName: DOTS } });
  t.equal(one1.body.data.DATA.OID, bangs[0], 'GETOBJECT: the first match');
  const sorted = await admin.cmd({ cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: DOTS }, sortprop: 'name', sorttype: 'ascii' });
  const byName = [...bangs].sort((a, b) => { const [x, y] = [`long${oids.indexOf(Number(a))}`, `long${oids.indexOf(Number(b))}`]; return x < y ? -1 : x > y ? 1 : 0; });
  t.strictSame(sorted.body.data.oidlist, byName, 'sorted: every match in name order');
});

t.test('bounded pages of a large search keep their cursors', async (t) => {
  const d = await startDaemon({ config: { max_scan_rows: '700', max_results: '40' } });
  t.teardown(() => d.close());
  const oids = await createUsers(d);
  const admin = await adminClient(d);
  const bangs = oids.filter((_, i) => i % 10 === 0).map(String);
  const pages: string[][] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const r = await admin.cmd({ cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: DOTS }, ...(after ? { after } : {}) });
    pages.push(r.body.data.oidlist);
    after = r.body.data.next;
    if (after === undefined) break;
    t.equal(r.body.data.truncated, true);
  }
  t.ok(pages.length > 2 && pages.every((p) => p.length <= 40), `cut pages (${pages.length})`);
  t.strictSame(pages.flat(), bangs, 'the cursors walk every match once, in oid order');
});

t.test('a search inside BEGIN ... COMMIT and a facade look-up still work', async (t) => {
  const { d, admin, oids } = await seededOnce();
  const bangs = oids.filter((_, i) => i % 10 === 0).map(String);
  t.equal((await admin.cmd({ cmd: 'BEGIN' })).body.status, 201);
  t.equal((await admin.cmd({ cmd: 'SET', oid: String(oids[1]), args: { fullName: 'now with a bang!' } })).body.status, 100, 'queued');
  const inside = await admin.cmd({ cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: DOTS } });
  t.strictSame(inside.body.data.oidlist, bangs, 'inside BEGIN a search reads the committed store');
  t.equal((await admin.cmd('COMMIT')).body.status, 201);
  const after = await admin.cmd({ cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: DOTS } });
  t.strictSame(after.body.data.oidlist, [bangs[0], String(oids[1]), ...bangs.slice(1)], 'after COMMIT it sees the write');
  const list = await (await adminRest(d)).get('/api/users');
  t.equal(list.status, 200, "the Meeting facade's user list (a find) answers");
  t.ok(list.body.users.some((u: { username: string }) => u.username === 'long7'), 'with the users made for this test');
});

/** The cases below build SQLite stores of their own: under TEST_STORE=postgres they would run the first pass again. */
const sqliteOwn = onPostgres && "SQLite's search threads and its :memory: store, on stores of their own (the SQLite pass runs them)";

/** A store file with a few long values, its Store, and the pattern specs of the port. */
async function storeFile(t: Test) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-search-'));
  const file = path.join(dir, 'cced.db');
  const db = openDb(file);
  t.teardown(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const store = new Store(sqliteBackend(db), loadSchema(['schema']));
  const oids = await new Writer(sqliteBackend(db)).submit(async (w) => {
    const out: number[] = [];
    for (let i = 0; i < 20; i++) out.push(await store.at(w).create(SYSTEM, 'User', { name: `long${i}`, fullName: fullName(i) }));
    return out;
  });
  const spec = (value: string): FindSpec => ({ className: 'User', terms: [{ ns: '', name: 'fullName', op: '~', value, array: false, orMissing: false }], driver: -1 });
  return { file, store, oids, spec };
}

t.test('a statement past its wall-clock limit: its thread is terminated and replaced, its search answers the 403', { skip: sqliteOwn }, async (t) => {
  const { file, oids, spec } = await storeFile(t);
  const threads = new SqliteSearchThreads(file, { threads: 1, limits: { cpuMs: 60_000, wallMs: 1 }, graceMs: 0 });
  t.teardown(() => threads.close());
  const spent = { cpuMs: 0, wallMs: 0 };
  await t.rejects(threads.find(spec(HOSTILE), spent).all(), new SearchStopped(1), 'the wall-clock 403');
  t.equal(spent.wallMs, 1, 'the search has spent its wall-clock time');
  await t.rejects(threads.find(spec('!$'), spent).all(), new SearchStopped(1), 'nothing more runs for it');
  const fresh = { cpuMs: 0, wallMs: -60_000 };
  t.strictSame(await threads.find(spec('!$'), fresh).all(), oids.filter((_, i) => i % 10 === 0), 'the next search runs on a new thread');
  threads.close();
  await t.rejects(threads.find(spec('!$'), fresh).all(), /closed/, 'none once closed');
});

t.test("a search thread stops a search at its CPU limit; a file it cannot open is a failure, not a client's 403", { skip: sqliteOwn }, async (t) => {
  const { file, spec } = await storeFile(t);
  const threads = new SqliteSearchThreads(file, { threads: 2, limits: { cpuMs: 1, wallMs: 60_000 } });
  t.teardown(() => threads.close());
  const searches = await Promise.allSettled([HOSTILE, HOSTILE].map((p) => threads.find(spec(p), { cpuMs: 0, wallMs: 0 }).all()));
  for (const s of searches) t.strictSame(s, { status: 'rejected', reason: new SearchStopped(1) }, 'each its own 403');
  const missing = new SqliteSearchThreads(path.join(path.dirname(file), 'missing.db'), { threads: 1 });
  t.teardown(() => missing.close());
  await t.rejects(missing.find(spec('!$'), { cpuMs: 0, wallMs: 0 }).all(), /^search thread failed to start: unable to open database file/);
});

t.test('without a file (:memory:) searches run on the event loop, with the same answers and the same 403', { skip: sqliteOwn }, async (t) => {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  const backend = sqliteBackend(db);
  t.equal(backend.searches, undefined, 'no search threads');
  const store = new Store(backend, loadSchema(['schema']));
  const oids = await new Writer(backend).submit(async (w) => {
    const out: number[] = [];
    for (let i = 0; i < 30; i++) out.push(await store.at(w).create(SYSTEM, 'User', { name: `long${i}`, fullName: fullName(i) }));
    return out;
  });
  const page = await store.findPage(SYSTEM, 'User', { criteria: [{ ns: '', name: 'fullName', op: '~', value: DOTS }] }, { limit: 100, maxScan: 1000 });
  t.strictSame(page.oids, oids.filter((_, i) => i % 10 === 0));
  await t.rejects(store.findPage(SYSTEM, 'User', { criteria: [{ ns: '', name: 'fullName', op: '~', value: HOSTILE }] }, { limit: 100, maxScan: 1000 }), {
    code: 403,
    message: /^BAD PARAMETERS regex search stopped after (2000|6000) ms: narrow it with an exact criterion or a simpler pattern$/,
  });
});
