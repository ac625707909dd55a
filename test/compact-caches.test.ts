import t from 'tap';
import { OidClassTable } from '../src/store/oid-classes.js';
import { BeatMemory } from '../src/store/beat-memory.js';

t.test('OidClassTable: an oid maps to its class; a colliding oid evicts only the one in its slot', async (t) => {
  const table = new OidClassTable(5);
  t.equal(table.capacity, 8, 'rounded up to a power of two');
  for (let oid = 1; oid <= 8; oid++) table.set(oid, oid % 2 ? 'Device' : 'User');
  for (let oid = 1; oid <= 8; oid++) t.equal(table.get(oid), oid % 2 ? 'Device' : 'User', `oid ${oid}`);
  table.set(11, 'DeviceType');
  t.equal(table.get(11), 'DeviceType', '11 takes the slot of 3');
  t.equal(table.get(3), undefined, '3 is evicted');
  t.same([1, 2, 4, 5, 6, 7, 8].map((oid) => table.get(oid)), ['Device', 'User', 'User', 'Device', 'User', 'Device', 'User'], 'every other oid kept');
  t.equal(table.get(19), undefined, 'an oid of the same slot never stored is unknown');
  table.delete(19);
  t.equal(table.get(11), 'DeviceType', 'deleting another oid of the slot keeps its holder');
  table.delete(11);
  t.equal(table.get(11), undefined);
  table.clear();
  t.same([1, 2, 8].map((oid) => table.get(oid)), [undefined, undefined, undefined], 'clear forgets all');
});

t.test('OidClassTable: oids it cannot hold are never remembered; bad bounds refused', async (t) => {
  const table = new OidClassTable(4);
  for (const oid of [0, -4, 2.5, 2 ** 32, 2 ** 40, NaN]) {
    table.set(oid, 'Device');
    t.equal(table.get(oid), undefined, String(oid));
  }
  table.set(2 ** 32 - 1, 'Device');
  t.equal(table.get(2 ** 32 - 1), 'Device', 'the highest 32-bit oid');
  t.equal(table.get(2 ** 32 + 2 ** 32 - 1), undefined, 'an oid equal in its low 32 bits is not it');
  for (const max of [0, -1, 1.5, NaN]) t.throws(() => new OidClassTable(max), RangeError, String(max));
  const many = new OidClassTable(4);
  for (let i = 0; i < 0xffff; i++) many.set(1, `C${i}`);
  many.set(2, 'OneTooMany');
  t.equal(many.get(1), `C${0xffff - 1}`, '65,535 class names are kept');
  t.equal(many.get(2), undefined, 'a name past them is not remembered');
});

t.test('OidClassTable: a million sequential oids all fit in 2^20 slots', async (t) => {
  const table = new OidClassTable(2 ** 20);
  const first = 17;
  for (let oid = first; oid < first + 1_000_000; oid++) table.set(oid, 'Device');
  let missing = 0;
  for (let oid = first; oid < first + 1_000_000; oid++) if (table.get(oid) !== 'Device') missing++;
  t.equal(missing, 0);
});

t.test('BeatMemory: the clock and each value as last recorded, per oid', async (t) => {
  const m = new BeatMemory(3);
  t.equal(m.capacity, 4);
  t.equal(m.clockOf(1), undefined, 'nothing recorded yet');
  t.notOk(m.same(1, 'ip_address', '10.0.0.1'), 'an unknown name is never the same');
  m.remember(1, 1000, [['ip_address', '10.0.0.1']]);
  t.equal(m.clockOf(1), 1000);
  t.ok(m.same(1, 'ip_address', '10.0.0.1'));
  t.notOk(m.same(1, 'ip_address', '10.0.0.2'), 'another value');
  t.notOk(m.same(1, 'note', ''), 'a name never recorded for it');
  m.remember(1, undefined, [['note', 'hello']]);
  t.equal(m.clockOf(1), 1000, 'a change without last_seen keeps the clock');
  t.ok(m.same(1, 'ip_address', '10.0.0.1'), 'and the other values');
  t.ok(m.same(1, 'note', 'hello'));
  t.notOk(m.same(2, 'note', 'hello'), 'another oid knows nothing');
  m.remember(2, undefined, [['note', 'x']]);
  t.equal(m.clockOf(2), undefined, 'an oid remembered without its clock has none');
  t.equal(m.clockOf(0), undefined, 'oid 0 is nobody');
});

t.test('BeatMemory: a colliding oid takes the slot whole; what cannot be held is not', async (t) => {
  const m = new BeatMemory(4);
  m.remember(1, 5, [['ip_address', 'a']]);
  m.remember(5, 7, [['services', '[]']]);
  t.equal(m.clockOf(1), undefined, '1 was evicted by 5 (same slot)');
  t.notOk(m.same(1, 'ip_address', 'a'));
  t.equal(m.clockOf(5), 7);
  t.notOk(m.same(5, 'ip_address', 'a'), "1's values did not pass to 5");
  // ip_address and services are the first two names; six more fit.
  for (let i = 0; i < 7; i++) m.remember(2, 1, [[`name${i}`, 'v']]);
  t.ok(m.same(2, 'name5', 'v'), 'eight names are kept');
  t.notOk(m.same(2, 'name6', 'v'), 'a ninth is always news');
  for (const oid of [0, -1, 1.5, 2 ** 32]) {
    m.remember(oid, 9, [['name0', 'v']]);
    t.equal(m.clockOf(oid), undefined, String(oid));
  }
  for (const max of [0, -1, 1.5, NaN]) t.throws(() => new BeatMemory(max), RangeError, String(max));
});

t.test('BeatMemory: prints tell apart values that differ by a character, a swap or the length', async (t) => {
  const m = new BeatMemory(64);
  const values = ['', 'a', 'b', 'ab', 'ba', 'aa', '10.0.0.1', '10.0.0.10', '10.0.0.01', '01.0.0.1', 'é', 'e\u0301', '\u0000', '\u0000\u0000'];
  values.forEach((v, i) => m.remember(i + 1, 0, [['v', v]]));
  for (let i = 0; i < values.length; i++) {
    for (let j = 0; j < values.length; j++) t.equal(m.same(i + 1, 'v', values[j]!), i === j, `${JSON.stringify(values[i])} vs ${JSON.stringify(values[j])}`);
  }
  const other = new BeatMemory(64);
  other.remember(1, 0, [['v', 'x']]);
  t.ok(other.same(1, 'v', 'x'), 'each memory is consistent with its own seed');
});
