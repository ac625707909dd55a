import t from 'tap';
import { BoundedMap } from '../src/store/bounded-map.js';

t.test('past its bound it evicts exactly one entry, the least recently used', async (t) => {
  const evicted: [string, number][] = [];
  const m = new BoundedMap<string, number>(3, (k, v) => evicted.push([k, v]));
  m.set('a', 1);
  m.set('b', 2);
  m.set('c', 3);
  t.equal(m.get('a'), 1, 'reading a makes it the newest');
  m.set('d', 4);
  t.same(evicted, [['b', 2]], 'b, the least recently used, is the one evicted');
  t.equal(m.size, 3);
  t.same([m.has('a'), m.has('b'), m.has('c'), m.has('d')], [true, false, true, true]);
  m.set('c', 30);
  t.equal(m.size, 3, 'overwriting an entry evicts nothing');
  t.same(evicted, [['b', 2]]);
  m.set('e', 5);
  t.same(evicted, [['b', 2], ['a', 1]], 'rewritten c is newer than a');
  t.equal(m.get('c'), 30);
  t.equal(m.get('missing'), undefined);
});

t.test('delete and clear forget without telling onEvict; the bound is checked', async (t) => {
  const evicted: number[] = [];
  const m = new BoundedMap<number, string | null>(2, (k) => evicted.push(k));
  m.set(1, null);
  m.set(2, 'two');
  t.ok(m.delete(1));
  t.notOk(m.delete(1));
  m.set(3, 'three');
  t.same(evicted, [], 'room was made by delete');
  m.clear();
  t.equal(m.size, 0);
  t.same(evicted, []);
  const plain = new BoundedMap<number, number>(1);
  plain.set(1, 1);
  plain.set(2, 2);
  t.same([plain.has(1), plain.get(2)], [false, 2], 'no onEvict needed');
  for (const max of [0, -1, 1.5, NaN]) t.throws(() => new BoundedMap(max), RangeError, String(max));
});
