/**
 * The store port's contract (src/store/async-port.ts): what every backend
 * must do, as one kit of tests that store-port-contract.test.ts runs once per
 * backend. A backend under test comes as a PortWorld: a fresh, migrated, empty
 * database, and a way to open more connections (another pool, another node)
 * to it.
 */
import type { Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSchema } from '../../src/schema/loader.js';
import { encodeArray } from '../../src/schema/values.js';
import type { FindSpec, GrantRecord } from '../../src/store/port.js';
import { TransactionConflict, UniqueViolation, type AsyncStoreBackend, type TxHandle } from '../../src/store/async-port.js';

export interface PortWorld {
  backend: AsyncStoreBackend;
  /** Another backend on the same database: its own connection(s), as a second node would have. */
  another(): Promise<AsyncStoreBackend>;
}

/** A schema of one class: `name` unique, `n` a number, `tags` an array; with `unique: false`, nothing unique. */
function thingSchema(unique = true) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-contract-schema-'));
  const properties = { name: { unique }, n: {}, tags: { array: true }, note: {} };
  try {
    writeFileSync(path.join(dir, 'Thing.json'), JSON.stringify({ classes: [{ class: 'Thing', properties, namespaces: { Extra: { properties: { x: {} } } } }] }));
    return loadSchema([dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The matcher the store would give: here, "contains". */
const contains = (pattern: string, value: string) => value.includes(pattern);

/** Makes an object of class Thing with main-namespace values; returns its oid. */
async function thing(b: AsyncStoreBackend, values: Record<string, string>, className = 'Thing'): Promise<number> {
  return b.transaction(async (tx) => {
    const oid = await tx.objects.insertObject(className, 1000);
    for (const [k, v] of Object.entries(values)) await tx.objects.putValue(oid, '', k, className, v);
    return oid;
  });
}

const spec = (s: Partial<FindSpec> & { terms: FindSpec['terms'] }): FindSpec => ({ className: 'Thing', driver: -1, ...s });

function grant(n: number, over: Partial<GrantRecord> = {}): GrantRecord {
  return {
    digest: Buffer.alloc(32, n),
    kind: 'session',
    user_oid: 7,
    user_name: 'ann',
    origin: 'cce',
    bound_to: null,
    admin: 0,
    owner: 'ann',
    issued_at: 100 + n,
    expires_at: 1000 + n,
    lifetime_ms: 900,
    sliding: 1,
    ...over,
  };
}

/** Every case of the contract, as subtests of `t`. */
export function storePortContract(t: Test, world: (t: Test) => Promise<PortWorld>): void {
  t.test('layout: migrated once, again is nothing to do', async (t) => {
    const { backend: b } = await world(t);
    const layout = await b.layout();
    t.equal(layout.version, layout.known);
    t.equal(await b.migrate(), 0);
  });

  t.test('objects: create, read, update, delete rows; credentials; settings; counts', async (t) => {
    const { backend: b } = await world(t);
    const a = await thing(b, { name: 'alpha', n: '1' });
    const c = await thing(b, { name: 'beta' });
    t.ok(c > a, 'oids grow');
    t.equal(await b.objects.classOf(a), 'Thing');
    t.equal(await b.objects.classOf(999999), undefined);
    t.same(await b.objects.values(a, ''), { name: 'alpha', n: '1' });
    t.same(await b.objects.classAndValues(a, ''), { className: 'Thing', values: { name: 'alpha', n: '1' } });
    t.same(await b.objects.classAndValues(a, 'Extra'), { className: 'Thing', values: {} }, 'a namespace without rows');
    t.equal(await b.objects.classAndValues(999999, ''), undefined);
    await b.transaction(async (tx) => {
      await tx.objects.putValue(a, '', 'n', 'Thing', '2');
      await tx.objects.putValue(a, 'Extra', 'x', 'Thing', 'ex');
      await tx.objects.touch(a, 2000);
      await tx.objects.putCredential(a, 'password', 'hash-1', 2000);
      await tx.objects.putCredential(a, 'password', 'hash-2', 2001);
      await tx.objects.putSetting('k', 'v1');
      await tx.objects.putSetting('k', 'v2');
      await tx.objects.putSetting('gone', 'x');
      await tx.objects.putSetting('gone', undefined);
    });
    t.equal(await b.objects.value(a, '', 'n'), '2', 'updated in place');
    t.equal(await b.objects.value(a, '', 'note'), undefined);
    t.same(await b.objects.classesOf([c, 999999, a]), [
      { oid: a, className: 'Thing' },
      { oid: c, className: 'Thing' },
    ]);
    t.same(await b.objects.namespacesOf([a, c]), [
      [a, '', { name: 'alpha', n: '2' }],
      [a, 'Extra', { x: 'ex' }],
      [c, '', { name: 'beta' }],
    ]);
    t.equal(await b.objects.credential(a, 'password'), 'hash-2');
    t.equal(await b.objects.setting('k'), 'v2');
    t.equal(await b.objects.setting('gone'), undefined);
    await thing(b, {}, 'Other');
    t.equal(await b.objects.count(), 3);
    t.equal(await b.objects.classCount('Thing'), 2);
    t.equal(await b.objects.classCount('None'), 0);
    await b.transaction((tx) => tx.objects.deleteObject(a));
    t.equal(await b.objects.classOf(a), undefined);
    t.same(await b.objects.values(a, ''), {}, 'its properties went with it');
    t.equal(await b.objects.credential(a, 'password'), undefined, 'and its credentials');
    t.equal(await b.objects.classCount('Thing'), 1);
  });

  t.test("putBeat: a heartbeat's two values in one call, the previous last_seen back, read as property rows by every read", async (t) => {
    const { backend: b } = await world(t);
    const dev = await thing(b, { note: 'd' }, 'Device');
    const other = await thing(b, { note: 'o' });
    const beat = (oid: number, cls: string, at: string, ip: string) => b.transaction((tx) => tx.objects.putBeat(oid, cls, at, ip, 2000));
    t.equal(await beat(dev, 'Device', 'T1', '10.0.0.1'), undefined, 'none before the first beat');
    t.equal(await beat(dev, 'Device', 'T2', '10.0.0.1'), 'T1', 'the previous one after, the address unchanged');
    t.equal(await beat(dev, 'Device', 'T3', '10.0.0.2'), 'T2', 'the address moved');
    t.same(await b.objects.values(dev, ''), { note: 'd', last_seen: 'T3', ip_address: '10.0.0.2' });
    t.same(await b.objects.classAndValues(dev, ''), { className: 'Device', values: { note: 'd', last_seen: 'T3', ip_address: '10.0.0.2' } });
    t.equal(await b.objects.value(dev, '', 'last_seen'), 'T3');
    const byIp = (ip: string) => b.objects.find({ className: 'Device', driver: 0, terms: [{ ns: '', name: 'ip_address', op: '=', value: ip, array: false, orMissing: false }] }).all();
    t.same(await byIp('10.0.0.2'), [dev], 'found by the new address');
    t.same(await byIp('10.0.0.1'), [], 'not by the old one');
    t.equal(await beat(other, 'Thing', 'T1', '10.0.0.1'), undefined, 'another class: property rows');
    t.equal(await beat(other, 'Thing', 'T2', '10.0.0.1'), 'T1');
    t.same(await b.objects.values(other, ''), { note: 'o', last_seen: 'T2', ip_address: '10.0.0.1' });
    await b.transaction(async (tx) => {
      await tx.savepoint(async () => {
        await tx.objects.putBeat(dev, 'Device', 'T9', '10.0.0.9', 3000);
        throw new Error('undo');
      }).catch(() => undefined);
    });
    t.same(await b.objects.values(dev, ''), { note: 'd', last_seen: 'T3', ip_address: '10.0.0.2' }, 'undone with its savepoint');
  });

  t.test('finds: =, arrays, ~ (the store matcher), a missing row as the default, sort values, windows, ranges', async (t) => {
    const { backend: b } = await world(t);
    b.useMatcher(contains);
    const o1 = await thing(b, { name: 'apple', n: '1', tags: encodeArray(['red', 'round']) });
    const o2 = await thing(b, { name: 'banana', n: '1', tags: encodeArray(['yellow']) });
    const o3 = await thing(b, { name: 'cherry', n: '2' });
    const o4 = await thing(b, { name: 'grape' });
    const eq = (name: string, value: string, more: Partial<FindSpec['terms'][number]> = {}) => ({ ns: '', name, op: '=' as const, value, array: false, orMissing: false, ...more });
    t.same(await b.objects.find(spec({ terms: [eq('n', '1')], driver: 0 })).all(), [o1, o2], '= through the index');
    t.same(await b.objects.find(spec({ terms: [eq('n', '1'), eq('name', 'banana')], driver: 0 })).all(), [o2], 'a second = term');
    t.same(await b.objects.find(spec({ terms: [eq('tags', 'yellow', { array: true })] })).all(), [o2], 'any element equals');
    t.same(await b.objects.find(spec({ terms: [eq('tags', 'ro', { array: true })] })).all(), [], 'an element, not a part of one');
    t.same(await b.objects.find(spec({ terms: [{ ...eq('name', 'an'), op: '~' }] })).all(), [o2], '~ runs the matcher');
    t.same(await b.objects.find(spec({ terms: [{ ...eq('tags', 'ell', { array: true }), op: '~' }] })).all(), [o2], '~ on any element');
    t.same(await b.objects.find(spec({ terms: [eq('n', '1', { orMissing: true })] })).all(), [o1, o2, o4], 'a missing row counts');
    t.same(await b.objects.find(spec({ terms: [{ ...eq('n', 'zz', { orMissing: true }), op: '~' }] })).all(), [o4], '~ with a missing row');
    const sorted = await b.objects.find(spec({ terms: [], sortBy: { ns: '', name: 'n' } })).withSortValues();
    t.same(sorted, [
      { oid: o1, sortvalue: '1' },
      { oid: o2, sortvalue: '1' },
      { oid: o3, sortvalue: '2' },
      { oid: o4, sortvalue: null },
    ]);
    const all = b.objects.find(spec({ terms: [] }));
    t.equal(await all.candidatesBeyond(3), true);
    t.equal(await all.candidatesBeyond(4), false);
    t.equal(await all.windowEnd(0, 1), o2);
    t.equal(await all.windowEnd(o3, 5), undefined);
    t.same(await all.range(o1, o4, 2), [o2, o3]);
    const matched = b.objects.find(spec({ terms: [{ ...eq('name', 'a'), op: '~' }] }));
    t.same(await matched.range(0, o4, 2), [o1, o2], 'the limit counts matches, not candidates');
    t.same(await matched.range(o1, o4, 5), [o2, o4]);
  });

  t.test('~ with a literal prefix reads the range of the index, not the class: windows count its rows', async (t) => {
    const { backend: b } = await world(t);
    b.useMatcher((p, v) => new RegExp(p).test(v));
    await b.transaction(async (tx) => {
      for (let i = 0; i < 200; i++) {
        const oid = await tx.objects.insertObject('Thing', 1);
        await tx.objects.putValue(oid, '', 'name', 'Thing', i < 3 ? `ab${i}` : i === 3 ? `ab${'x'.repeat(3000)}` : i === 4 ? 'b\u00e9' : `zz${i}`);
      }
    });
    const find = (pattern: string) => b.objects.find(spec({ terms: [{ ns: '', name: 'name', op: '~', value: pattern, array: false, orMissing: false }] }));
    t.equal((await find('^ab').all()).length, 4, 'every match, a long value too');
    t.equal(await find('^ab').candidatesBeyond(3), true);
    t.equal(await find('^ab').candidatesBeyond(4), false, 'four candidates: the range, not the 200 of the class');
    t.equal(await find('ab').candidatesBeyond(4), true, 'no prefix: the class');
    t.equal(await find('^abc?').candidatesBeyond(4), false, 'the prefix before an optional character');
    t.equal(await find('^ab1$').candidatesBeyond(0), true);
    t.equal(await find('^ab1$').candidatesBeyond(1), false, 'the longest certain prefix');
    t.equal((await find('^b\u00e9').all()).length, 1, 'a prefix beyond ASCII, in byte order');
    t.equal(await find('^b\u00e9').candidatesBeyond(1), false);
    const windowed = find('^ab');
    const first = await windowed.windowEnd(0, 1);
    t.ok(first !== undefined, 'a window of the range');
    t.same(await windowed.range(0, first!, 10), (await windowed.all()).slice(0, 2), 'ranges of oids within it');
  });

  t.test('firstWith and holderOf', async (t) => {
    const { backend: b } = await world(t);
    const a = await thing(b, { name: 'x', n: '5', note: 'hi' });
    const c = await thing(b, { name: 'y', n: '5' });
    t.same(await b.objects.firstWith('Thing', '', 'n', '5', ['name', 'note']), { oid: a, values: { name: 'x', note: 'hi' } });
    t.equal(await b.objects.firstWith('Thing', '', 'n', '6', ['name']), undefined);
    t.equal(await b.objects.holderOf('Thing', '', 'n', '5', a), c);
    t.equal(await b.objects.holderOf('Thing', '', 'name', 'x', a), undefined);
    const long = 'L'.repeat(5000);
    await b.transaction((tx) => tx.objects.putValue(c, '', 'note', 'Thing', long));
    t.equal(await b.objects.holderOf('Thing', '', 'note', long, a), c, 'a value too long for the index is stored and found');
  });

  t.test('paging in (value, oid) byte order, by offset, by mark, by prefix', async (t) => {
    const { backend: b } = await world(t);
    const names = ['beta', 'Alpha', 'alpha', 'éclair', 'al', 'Zed'];
    const oids = new Map<string, number>();
    for (const name of names) oids.set(name, await thing(b, { name }));
    const order = ['Alpha', 'Zed', 'al', 'alpha', 'beta', 'éclair'];
    t.equal(await b.objects.pageCount('Thing', 'name', ''), 6);
    t.equal(await b.objects.pageCount('Thing', 'name', 'al'), 2);
    const values = (rows: { oid: number; value: string }[]) => rows.map((r) => r.value);
    t.same(values(await b.objects.pageRows('Thing', 'name', '', { offset: 0 }, 10)), order, 'bytes, not a locale');
    t.same(values(await b.objects.pageRows('Thing', 'name', '', { offset: 2 }, 2)), ['al', 'alpha']);
    t.same(values(await b.objects.pageRows('Thing', 'name', '', { value: 'al', oid: oids.get('al')!, inclusive: false }, 2)), ['alpha', 'beta']);
    t.same(values(await b.objects.pageRows('Thing', 'name', '', { value: 'al', oid: oids.get('al')!, inclusive: true }, 1)), ['al']);
    t.same(values(await b.objects.pageRows('Thing', 'name', '', { value: 'Zed', oid: oids.get('Zed')!, inclusive: true, skip: 2 }, 2)), ['alpha', 'beta'], 'a mark, then entries skipped');
    t.same(await b.objects.pageRows('Thing', 'name', '', { value: 'beta', oid: 0, inclusive: true, skip: 2 }, 2), [], 'skipped past the end');
    t.same(await b.objects.pageRows('Thing', 'name', 'al', { offset: 0 }, 10), [
      { oid: oids.get('al'), value: 'al' },
      { oid: oids.get('alpha'), value: 'alpha' },
    ]);
  });

  t.test('the change log: ids, reads, age bounds, pruning; the sequence outlives the rows', async (t) => {
    const { backend: b } = await world(t);
    t.equal(await b.changes.sequence(), 0);
    t.equal(await b.changes.oldest(), null);
    const ids = await b.transaction(async (tx) => [
      await tx.changes.insert(10, 'Thing', 1, '', '["a"]', true, false),
      await tx.changes.insert(20, 'Thing', 1, '', '["b"]', false, false),
      await tx.changes.insert(30, 'Thing', 2, '', '[]', false, true),
    ]);
    t.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!);
    const rows = await b.changes.after(0, ids[2]!, 10);
    t.same(rows[0], { id: ids[0], at: 10, class: 'Thing', oid: 1, ns: '', props: '["a"]', created: 1, destroyed: 0 });
    t.same(
      (await b.changes.after(ids[0]!, ids[2]!, 1)).map((r) => r.id),
      [ids[1]],
    );
    t.equal(await b.changes.sequence(), ids[2]);
    t.equal(await b.changes.oldest(), ids[0]);
    t.equal(await b.changes.ageBound(ids[2]! + 1, 25), ids[1]);
    t.equal(await b.changes.ageBound(ids[2]! + 1, 5), null);
    t.equal(await b.transaction((tx) => tx.changes.prune(ids[2]!)), 3);
    t.equal(await b.changes.oldest(), null);
    t.equal(await b.changes.sequence(), ids[2], 'an id is never handed out again');
  });

  t.test('grants: put, replace, read, by owner, extend, remove', async (t) => {
    const { backend: b } = await world(t);
    await b.transaction(async (tx) => {
      await tx.grants.put(grant(1));
      await tx.grants.put(grant(2, { kind: 'token', expires_at: 500 }));
      await tx.grants.put(grant(3, { user_oid: 8, owner: 'bob' }));
      await tx.grants.put(grant(1, { admin: 1 }));
    });
    t.same(await b.grants.get(Buffer.alloc(32, 1)), grant(1, { admin: 1 }), 'the same digest replaced');
    t.equal(await b.grants.get(Buffer.alloc(32, 9)), undefined);
    t.same(
      (await b.grants.ofOwner('ann', 400)).map((g) => g.digest[0]),
      [2, 1],
      'soonest expiry first',
    );
    t.same(await b.grants.ofOwner('ann', 600), [grant(1, { admin: 1 })]);
    await b.transaction(async (tx) => {
      await tx.grants.extend(Buffer.alloc(32, 1), 5000);
      await tx.grants.extend(Buffer.alloc(32, 1), 10);
    });
    t.equal((await b.grants.get(Buffer.alloc(32, 1)))!.expires_at, 5000, 'never earlier');
    t.equal(await b.grants.expired(600), 1);
    t.equal(await b.transaction((tx) => tx.grants.removeExpired(600)), 1);
    await b.transaction((tx) => tx.grants.put(grant(4)));
    t.equal(await b.transaction((tx) => tx.grants.removeUser(7, Buffer.alloc(32, 4))), 1, 'all but the one kept');
    t.ok(await b.grants.get(Buffer.alloc(32, 4)));
    t.equal(await b.transaction((tx) => tx.grants.removeUser(7, undefined)), 1);
    await b.transaction((tx) => tx.grants.remove(Buffer.alloc(32, 3)));
    t.equal(await b.grants.get(Buffer.alloc(32, 3)), undefined);
  });

  t.test('device events: appended and capped per device, listed newest first, aged out, purged', async (t) => {
    const { backend: b } = await world(t);
    const e = (at: number) => ({ at, event: `e${at}`, host: 'h', remote: '10.0.0.1' });
    await b.transaction(async (tx) => {
      for (const at of [1, 2, 3, 4]) await tx.events.append(7, e(at), 3);
      await tx.events.append(8, e(5), 3);
    });
    t.same(await b.events.list(7, 10), [e(4), e(3), e(2)]);
    t.same(await b.events.latest(8), e(5));
    t.equal(await b.events.latest(9), undefined);
    t.equal(await b.events.count(), 4);
    t.equal(await b.events.countBefore(4), 2);
    t.equal(await b.transaction((tx) => tx.events.deleteBefore(3)), 1);
    t.equal(await b.transaction((tx) => tx.events.purge(7)), 2);
    t.equal(await b.events.count(), 1);
  });

  t.test('transactions: commit, rollback, savepoints, a handle refused once ended', async (t) => {
    const { backend: b } = await world(t);
    const a = await thing(b, { n: '1' });
    await t.rejects(
      b.transaction(async (tx) => {
        await tx.objects.putValue(a, '', 'n', 'Thing', '2');
        await tx.objects.insertObject('Thing', 1);
        throw new Error('changed my mind');
      }),
      { message: 'changed my mind' },
    );
    t.equal(await b.objects.value(a, '', 'n'), '1', 'rolled back whole');
    t.equal(await b.objects.classCount('Thing'), 1);
    let kept: TxHandle | undefined;
    const seen = await b.transaction(async (tx) => {
      await tx.objects.putValue(a, '', 'n', 'Thing', '3');
      await t.rejects(
        tx.savepoint(async () => {
          await tx.objects.putValue(a, '', 'n', 'Thing', '4');
          await tx.savepoint(() => tx.objects.putValue(a, '', 'note', 'Thing', 'inner'));
          throw new Error('undo the savepoint');
        }),
      );
      await tx.savepoint(() => tx.objects.putValue(a, '', 'note', 'Thing', 'kept'));
      kept = tx;
      return tx.objects.value(a, '', 'n');
    });
    t.equal(seen, '3', 'the transaction reads its own writes, the savepoint undone');
    t.same(await b.objects.values(a, ''), { n: '3', note: 'kept' });
    await t.rejects(kept!.objects.value(a, '', 'n'), /ended/);
  });

  t.test('unique properties: a second holder refused by the database, as the port\'s own error', async (t) => {
    const { backend: b } = await world(t);
    await b.enforceUnique(thingSchema());
    await b.enforceUnique(thingSchema()); // idempotent
    const a = await thing(b, { name: 'one', note: 'same' });
    const c = await thing(b, { name: 'two', note: 'same' });
    const err = await b.transaction((tx) => tx.objects.putValue(c, '', 'name', 'Thing', 'one')).catch((e: unknown) => e);
    t.ok(err instanceof UniqueViolation, 'not a driver error');
    t.match(err, { className: 'Thing', ns: '', property: 'name' });
    // Inside a savepoint the refusal is caught and the transaction goes on.
    const after = await b.transaction(async (tx) => {
      const refused = await tx.savepoint(() => tx.objects.compareAndSet(c, '', 'name', 'Thing', 'two', 'one')).catch((e: unknown) => e);
      await tx.objects.putValue(c, '', 'n', 'Thing', '9');
      return refused;
    });
    t.ok(after instanceof UniqueViolation, 'compareAndSet too');
    t.equal(await b.objects.value(c, '', 'n'), '9', 'the rest committed');
    await thing(b, { name: '' });
    await thing(b, { name: '' });
    t.pass('the empty value may be held twice');
    await b.transaction((tx) => tx.objects.putValue(a, '', 'name', 'Thing', 'one'));
    t.pass('an object rewriting its own value');
    await b.enforceUnique(thingSchema(false));
    await thing(b, { name: 'one' });
    t.pass('unique no more: its index dropped');
  });

  t.test('unique properties of the daemon\'s schema: no tunnel port leased twice', async (t) => {
    const { backend: b } = await world(t);
    await b.enforceUnique(loadSchema(['schema']));
    const lease = (port: string) => thing(b, { port, device: '1' }, 'Tunnel');
    await lease('20001');
    const leases = await Promise.allSettled([lease('20002'), lease('20002'), lease('20001')]);
    const outcomes = leases.map((r) => (r.status === 'fulfilled' ? 'leased' : r.reason instanceof UniqueViolation ? `${r.reason.className}.${r.reason.property} taken` : String(r.reason)));
    // Which of the two racing leases of 20002 commits first is the backend's to decide: exactly one of them does.
    t.same(outcomes.slice(0, 2).sort(), ['Tunnel.port taken', 'leased'], 'one lease of 20002 wins, the other is refused');
    t.equal(outcomes[2], 'Tunnel.port taken', 'a port already leased is refused');
  });

  t.test('conditional updates: N connections decrement 3 tokens, exactly 3 get one; N claimers, one wins', async (t) => {
    const w = await world(t);
    const b = w.backend;
    const a = await thing(b, { n: '3', name: '' });
    const others = await Promise.all(Array.from({ length: 10 }, () => w.another()));
    t.teardown(() => Promise.all(others.map((o) => o.close())));
    const taken = await Promise.all(others.map((o) => o.transaction((tx) => tx.objects.decrement(a, '', 'n'), { attempts: 20 })));
    t.same(
      taken.filter((x) => x !== undefined).sort(),
      [0, 1, 2],
      'each token taken once',
    );
    t.equal(taken.filter((x) => x === undefined).length, 7);
    t.equal(await b.objects.value(a, '', 'n'), '0');
    const bad = await thing(b, { n: 'x' });
    t.equal(await b.transaction((tx) => tx.objects.decrement(bad, '', 'n')), undefined, 'not a number: nothing taken');
    t.equal(await b.transaction((tx) => tx.objects.decrement(bad, '', 'none')), undefined, 'no row');
    const claims = await Promise.all(others.map((o, i) => o.transaction((tx) => tx.objects.compareAndSet(a, '', 'note', 'Thing', '', `owner${i}`), { attempts: 20 })));
    t.equal(claims.filter(Boolean).length, 1, 'one claim wins');
    const owner = `owner${claims.indexOf(true)}`;
    t.equal(await b.objects.value(a, '', 'note'), owner);
    t.equal(await b.transaction((tx) => tx.objects.compareAndSet(a, '', 'note', 'Thing', 'someone', 'free')), false, 'not what was expected: unchanged');
    t.equal(await b.transaction((tx) => tx.objects.compareAndSet(a, '', 'note', 'Thing', owner, '')), true, 'released by its holder');
    t.equal(await b.transaction((tx) => tx.objects.compareAndSet(a, '', 'note', 'Thing', '', 'again')), true, 'an empty row claimed');
    t.equal(await b.transaction((tx) => tx.objects.compareAndSet(999999, '', 'note', 'Thing', '', 'x')), false, 'no such object');
  });

  t.test('concurrent transactions on the same rows: one wins whole, the other is retried or refused', async (t) => {
    const w = await world(t);
    const b = w.backend;
    const other = await w.another();
    t.teardown(() => other.close());
    const a = await thing(b, { n: '0', note: '0' });
    /** Reads n, waits (on a backend with concurrent transactions) until the other has read too, writes n+1 and note. */
    const race = async (attempts: number) => {
      let read = 0;
      let bothRead!: () => void;
      const met = new Promise<void>((resolve) => (bothRead = resolve));
      const bump = (on: AsyncStoreBackend, who: string) =>
        on.transaction(
          async (tx) => {
            const n = Number(await tx.objects.value(a, '', 'n'));
            if (++read === 2) bothRead();
            if (b.concurrentTransactions) await met;
            await tx.objects.putValue(a, '', 'n', 'Thing', String(n + 1));
            await tx.objects.putValue(a, '', 'note', 'Thing', `${who}${n + 1}`);
          },
          { attempts },
        );
      return Promise.allSettled([bump(b, 'A'), bump(other, 'B')]);
    };
    const retried = await race(10);
    t.same(
      retried.map((r) => r.status),
      ['fulfilled', 'fulfilled'],
    );
    t.equal(await b.objects.value(a, '', 'n'), '2', 'both applied, one after the other');
    t.match(await b.objects.value(a, '', 'note'), /^[AB]2$/, 'the rows of one transaction together');
    const once = await race(1);
    const refused = once.filter((r) => r.status === 'rejected');
    for (const r of refused) t.ok(r.reason instanceof TransactionConflict, 'refused as a conflict');
    t.equal(refused.length, b.concurrentTransactions ? 1 : 0, b.concurrentTransactions ? 'the loser is refused' : 'queued: no conflict');
    const n = 2 + once.length - refused.length;
    t.equal(await b.objects.value(a, '', 'n'), String(n), 'only winners applied');
    t.match(await b.objects.value(a, '', 'note'), new RegExp(`^[AB]${n}$`), 'each whole');
  });

  t.test('the default fill: windows of a class, the missing rows filled once, rows written meanwhile kept, two nodes at once', async (t) => {
    const w = await world(t);
    const b = w.backend;
    const oids: number[] = [];
    for (let i = 0; i < 6; i++) oids.push(await thing(b, i === 1 ? { name: `t${i}`, note: 'mine' } : { name: `t${i}` }));
    const other = await thing(b, { name: 'o' }, 'Other');
    const inTx = <R>(fn: (d: TxHandle['defaults']) => Promise<R>) => b.transaction((tx) => fn(tx.defaults));
    t.equal(await inTx((d) => d.windowEnd('Thing', 0, 1)), oids[1], 'the window of two from the start ends at the second');
    t.equal(await inTx((d) => d.windowEnd('Thing', oids[3]!, 1)), oids[5]);
    t.equal(await inTx((d) => d.windowEnd('Thing', oids[4]!, 1)), undefined, 'past the last: none');
    t.equal(await inTx((d) => d.fill('Thing', '', 'note', 'dflt', 0, oids[1]!)), 1, 'the first window: one row missing, one written meanwhile');
    t.equal(await inTx((d) => d.fill('Thing', '', 'note', 'dflt', oids[1]!, Number.MAX_SAFE_INTEGER)), 4, 'the rest');
    t.equal(await inTx((d) => d.fill('Thing', '', 'note', 'dflt', 0, Number.MAX_SAFE_INTEGER)), 0, 'again: nothing');
    t.same(await Promise.all(oids.map((oid) => b.objects.value(oid, '', 'note'))), ['dflt', 'mine', 'dflt', 'dflt', 'dflt', 'dflt']);
    t.equal(await b.objects.value(other, '', 'note'), undefined, 'another class untouched');
    t.same(await b.objects.find(spec({ terms: [{ ns: '', name: 'note', op: '=', value: 'dflt', array: false, orMissing: false }] })).all(), oids.filter((_, i) => i !== 1), 'found by the stored default');

    // Two nodes filling the same property at once: each row stored once (a conflict is retried, and then finds it there).
    const node = await w.another();
    t.teardown(() => node.close());
    const filled = await Promise.all([b, node].map((on) => on.transaction((tx) => tx.defaults.fill('Thing', 'Extra', 'x', '7', 0, Number.MAX_SAFE_INTEGER))));
    t.equal(filled[0]! + filled[1]!, 6, 'six rows between them');
    t.same(await Promise.all(oids.map((oid) => b.objects.value(oid, 'Extra', 'x'))), Array(6).fill('7'));
    // A property that became derived: its rows go, the class's others stay.
    await inTx((d) => d.dropProperty('Thing', 'Extra', 'x'));
    t.same(await Promise.all(oids.map((oid) => b.objects.values(oid, 'Extra'))), Array(6).fill({}));
    t.equal(await b.objects.value(oids[0]!, '', 'note'), 'dflt');
  });

  t.test('oids are unique across two pools (two nodes)', async (t) => {
    const w = await world(t);
    const other = await w.another();
    t.teardown(() => other.close());
    const make = (on: AsyncStoreBackend) => Promise.all(Array.from({ length: 25 }, () => on.transaction((tx) => tx.objects.insertObject('Thing', 1))));
    const [mine, theirs] = await Promise.all([make(w.backend), make(other)]);
    const all = [...mine, ...theirs];
    t.equal(new Set(all).size, 50, 'no oid handed out twice');
    t.equal(await w.backend.objects.classCount('Thing'), 50);
    // A rolled-back transaction's oid is not handed out again either.
    const lost = await w.backend.transaction(async (tx) => {
      const oid = await tx.objects.insertObject('Thing', 1);
      throw Object.assign(new Error('rollback'), { oid });
    }).catch((e: { oid: number }) => e.oid);
    const next = await other.transaction((tx) => tx.objects.insertObject('Thing', 1));
    t.ok(next > lost && next > Math.max(...all));
  });
}
