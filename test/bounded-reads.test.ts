/**
 * FIND, FINDX and GETALL over a class answer bounded pages: at most
 * max_results objects, at most max_scan_rows candidates examined, GETALL at
 * most about max_reply_bytes. A cut reply says `"truncated": true` and gives
 * `next`; sending it back as `after` continues, and following the cursors
 * returns every object exactly once, even while objects come and go.
 */
import t from 'tap';
import { startDaemon, adminClient, CceClient, type TestDaemon } from './helpers/daemon.js';
import { GOODBYE, failure } from './helpers/replies.js';

const LIMITS = { max_results: '7', max_scan_rows: '5', max_reply_bytes: '2048' };

/** Follows `next` until a reply is not cut; every page's oids, in order. */
async function follow(client: CceClient, body: Record<string, unknown>, pick: (data: any) => string[]): Promise<{ pages: string[][]; replies: any[] }> {
  const pages: string[][] = [];
  const replies: any[] = [];
  let after: string | undefined;
  for (let i = 0; i < 200; i++) {
    const r = await client.cmd({ ...body, ...(after === undefined ? {} : { after }) });
    replies.push(r.body);
    pages.push(r.body.data ? pick(r.body.data) : []);
    if (!r.body.data?.truncated) return { pages, replies };
    after = r.body.data.next;
  }
  throw new Error('the cursor never ended');
}

async function users(d: TestDaemon, admin: CceClient, count: number, fullName: (i: number) => string): Promise<string[]> {
  const oids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: `u${i}`, fullName: fullName(i) } });
    oids.push(String(r.body.data.oid));
  }
  return oids;
}

t.test('cursors walk a class in bounded pages, exactly once', async (t) => {
  const d = await startDaemon({ config: LIMITS });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const created = await users(d, admin, 30, (i) => (i % 10 === 3 ? `match ${i}` : `other ${i}`));
  const everyone = (await admin.cmd({ cmd: 'FINDX', class: 'User', args: {} }, { after: 'o:0' })).body;
  t.equal(everyone.data.oidlist.length, 5, 'a page of a whole class stops at max_scan_rows candidates');
  t.equal(everyone.data.truncated, true);

  const all = await follow(admin, { cmd: 'FINDX', class: 'User', args: {} }, (data) => data.oidlist);
  const flat = all.pages.flat();
  t.ok(all.pages.every((p) => p.length <= 7), 'no page is over max_results');
  t.strictSame(flat, [...flat].sort((a, b) => Number(a) - Number(b)), 'oid order across pages');
  t.equal(new Set(flat).size, flat.length, 'no oid twice');
  t.ok(created.every((oid) => flat.includes(oid)), 'every user found');
  t.notOk(all.replies.at(-1).data.truncated, 'the last page is not cut');
  t.notOk('next' in all.replies.at(-1).data);

  // A regex that matches little: pages cut by the scan bound, some of them empty, and the union exact.
  const expected = created.filter((_, i) => i % 10 === 3);
  const sparse = await follow(admin, { cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: '^match' } }, (data) => data.oidlist);
  t.strictSame(sparse.pages.flat(), expected, 'FINDX regex-only: exactly the matches');
  // A literal prefix (`^match`) reads only its range of the index: the 3 matches are the only candidates, so one
  // page holds them all, whole.
  t.strictSame(sparse.pages, [expected], 'one page of the prefix range, not cut');
  // Without a literal prefix every object of the class is a candidate: pages cut by the scan bound, some empty.
  const unanchored = await follow(admin, { cmd: 'FINDX', class: 'User', args: {}, regex_args: { fullName: 'match' } }, (data) => data.oidlist);
  t.strictSame(unanchored.pages.flat(), expected, 'FINDX regex-only without a prefix: exactly the matches');
  t.ok(unanchored.pages.some((p) => p.length === 0), 'an empty page still carries the cursor');
  t.ok(unanchored.replies.length >= Math.ceil(created.length / 5), 'no reply examined more than max_scan_rows candidates');

  // FIND: the same through the CSCP line; a FIND with nothing left to find still answers a bare GOODBYE.
  const found = await follow(admin, { cmd: 'FIND User fullName ~ "^match"' }, (data) => data.oidlist);
  t.strictSame(found.pages.flat(), expected, 'FIND regex: exactly the matches');
  t.strictSame((await admin.cmd('FIND User name = "nobody-at-all"')).body, GOODBYE);

  // Sorted: the order of the whole set, paged through with an index cursor.
  const sortedWhole = await follow(admin, { cmd: 'FINDX', class: 'User', args: {}, sortprop: 'fullName', sorttype: 'ascii' }, (data) => data.oidlist);
  t.match(sortedWhole.replies[0].data.next, /^i:7$/);
  const names: Record<string, any> = {};
  for (const reply of (await follow(admin, { cmd: 'GETALL', class: 'User' }, () => [])).replies) Object.assign(names, reply.data.objects);
  const fullNames = sortedWhole.pages.flat().map((oid) => names[oid].OBJECT.fullName as string);
  t.strictSame(fullNames, [...fullNames].sort(), 'the sorted pages are in order');
  t.same(new Set(sortedWhole.pages.flat()), new Set(flat), 'sorted pages hold every user once');
  t.equal(sortedWhole.pages.flat().length, flat.length);

  // GETOBJECT: the first match, whatever the bounds.
  const first = await admin.cmd({ cmd: 'GETOBJECT', class: 'User', args: {}, regex_args: { fullName: '^match' } });
  t.equal(first.body.data.DATA.fullName, 'match 3');
});

t.test('GETALL is cut by count and by reply size, and continues', async (t) => {
  const d = await startDaemon({ config: LIMITS });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  // Long values: a few objects fill max_reply_bytes.
  const created = await users(d, admin, 12, (i) => `user ${i} ${'x'.repeat(600)}`);
  const byClass = await follow(admin, { cmd: 'GETALL', class: 'User' }, (data) => Object.keys(data.objects));
  t.ok(byClass.pages.every((p) => p.length >= 1 && p.length < 7), 'each reply is cut by size before max_results');
  const flat = byClass.pages.flat();
  t.equal(new Set(flat).size, flat.length, 'no object twice');
  t.ok(created.every((oid) => flat.includes(oid)), 'every user answered');
  t.equal(byClass.replies[0].data.objects[flat[0]!].OBJECT.name, 'admin', 'whole objects are answered');

  // An oid list: `i:` cursors count into the list, unknown oids are left out as before.
  const list = [...created].reverse().concat(['99999']);
  const listed = await follow(admin, { cmd: 'GETALL', oids: list }, (data) => Object.keys(data.objects));
  t.ok(listed.replies.length > 1, 'the list is cut');
  t.match(listed.replies[0].data.next, /^i:\d+$/);
  t.same(new Set(listed.pages.flat()), new Set(created), 'every listed object once, the unknown oid left out');
  t.equal(listed.pages.flat().length, created.length);
});

t.test('a cursor stays exact while objects are created and destroyed', async (t) => {
  const d = await startDaemon({ config: { max_results: '4', max_scan_rows: '1000' } });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const created = await users(d, admin, 16, (i) => `n${i}`);
  const seen: string[] = [];
  const destroyed = new Set<string>();
  const added: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 50; page++) {
    const r = await admin.cmd({ cmd: 'FINDX', class: 'User', args: {}, ...(after ? { after } : {}) });
    seen.push(...(r.body.data.oidlist as string[]));
    if (!r.body.data.truncated) break;
    after = r.body.data.next;
    // Destroy one not yet seen, create one (a higher oid: it comes later in the walk).
    const victim = created.find((oid) => !seen.includes(oid) && !destroyed.has(oid));
    if (victim) {
      t.equal((await admin.cmd(`DESTROY ${victim}`)).body.status, 201);
      destroyed.add(victim);
    }
    const r2 = await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name: `late${page}` } });
    added.push(String(r2.body.data.oid));
  }
  t.equal(new Set(seen).size, seen.length, 'nothing twice');
  t.ok(destroyed.size > 0, 'objects were destroyed during the walk');
  t.notOk(seen.some((oid) => destroyed.has(oid)), 'a destroyed object is not answered after its destruction');
  t.ok(created.filter((oid) => !destroyed.has(oid)).every((oid) => seen.includes(oid)), 'every surviving object once');
  t.ok(added.slice(0, -1).every((oid) => seen.includes(oid)), 'objects created ahead of the cursor are found');
});

t.test('a non-admin pages only through what it may read', async (t) => {
  const d = await startDaemon({ config: { max_results: '1', max_scan_rows: '3' } });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const peers = await users(d, admin, 6, (i) => `peer ${i}`);
  t.equal((await admin.cmd('CREATE User name="eve" password="eve-password" capabilities="&x&"')).body.status, 201);
  for (const oid of peers) t.equal((await admin.cmd(`SET ${oid} capabilities="&x&"`)).body.status, 201);
  const eve = await new CceClient(d, 'eve').login('eve-password');
  const whoami = (await eve.cmd('WHOAMI')).body.data.oid as string;
  // capabilities is readable by its owner only: eve finds herself, never another user through it.
  const own = await follow(eve, { cmd: 'FINDX', class: 'User', args: { capabilities: 'x' } }, (data) => data.oidlist);
  t.strictSame(own.pages.flat(), [String(whoami)]);
});

t.test('a sorted query sorts at most max_sort_rows candidates', async (t) => {
  const d = await startDaemon({ config: { max_sort_rows: '5' } });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  await users(d, admin, 6, (i) => (i < 3 ? 'team' : `solo ${i}`));
  const why = 'BAD PARAMETERS sortprop: more than 5 objects to sort; narrow the criteria, or page without sortprop';
  const before = (await admin.cmd({ cmd: 'FINDX', class: 'User', args: {} })).body;
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', args: {}, sortprop: 'fullName' })).body, failure([403, why]), 'the whole class: too many');
  t.strictSame((await admin.cmd('FIND User SORTPROP fullName')).body, failure([403, why]), 'the same through FIND');
  const narrowed = await admin.cmd({ cmd: 'FINDX', class: 'User', args: { fullName: 'team' }, sortprop: 'name', sorttype: 'ascii' });
  t.equal(narrowed.body.data.oidlist.length, 3, 'an indexed criterion selecting few: sorted');
  t.notOk(narrowed.body.data.truncated);
  t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', args: {} })).body, before, 'nothing changed');
});

t.test('a bad cursor is a clear error and changes nothing', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const why = 'BAD PARAMETERS after: expected a cursor from a truncated reply ("o:<oid>" or "i:<count>")';
  for (const after of ['x', 'o:', 'o:-1', 'i:1e3', 'o:1234567890123456']) {
    t.strictSame((await admin.cmd({ cmd: 'FINDX', class: 'User', args: {}, after })).body, failure([403, why]), after);
  }
  const r = await admin.cmd({ cmd: 'GETALL', class: 'User', after: 7 });
  t.equal(r.body.status, 401);
  t.match(r.body.data.errors[0].message, /^BAD PARAMETERS after: /, 'a cursor is a string');
});
