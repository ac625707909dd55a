/**
 * A schema that gains properties between two starts: objects created before
 * are found by the new properties' defaults, as objects created after are.
 */
import t from 'tap';
import path from 'node:path';
import { startDaemon, adminClient, onPostgres } from './helpers/daemon.js';
import { pino } from 'pino';
import { daemonDatabase } from './helpers/postgres.js';
import { resolveConfig } from '../src/config/load.js';
import { openStore } from '../src/store/open.js';
import { SYSTEM } from '../src/store/store.js';

const thing = { class: 'Thing', properties: { name: { type: 'alphanum_plus' } } };
const more = {
  classes: [
    {
      class: 'Thing',
      extend: true,
      properties: { color: { type: 'alphanum_plus', default: 'red' }, note: { type: 'scalar', optional: true } },
      namespaces: { Extra: { properties: { level: { type: 'uint', default: 3 } } } },
    },
  ],
};

t.test('properties added by a schema extension get their defaults stored for existing objects, once', async (t) => {
  const dir = t.testdir({
    state: {},
    v1: { '10-thing.json': JSON.stringify({ classes: [thing] }) },
    v2: { '10-thing.json': JSON.stringify({ classes: [thing] }), '20-more.json': JSON.stringify(more) },
  });
  const [stateDir, v1, v2] = ['state', 'v1', 'v2'].map((d) => path.join(dir, d)) as [string, string, string];
  const start = (dir: string) => startDaemon({ stateDir, config: { schema_dir: `schema,${dir}` } });

  const d1 = await start(v1);
  t.teardown(() => d1.close());
  const a1 = await adminClient(d1);
  const old = [(await a1.cmd('CREATE Thing name = "a"')).body.data!.oid, (await a1.cmd('CREATE Thing name = "b"')).body.data!.oid];
  await d1.close();

  const d2 = await start(v2);
  t.teardown(() => d2.close());
  const a2 = await adminClient(d2);
  // Stored in the background, while the daemon already serves.
  const told = () => d2.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'stored the defaults of new schema properties for existing objects');
  while (told() === undefined) await new Promise((r) => setTimeout(r, 20));
  t.match(told(), { properties: ['Thing.color', 'Thing.note', 'Thing.Extra.level'], rows: 6 });
  const created = (await a2.cmd('CREATE Thing name = "c"')).body.data!.oid;
  t.same((await a2.cmd('FIND Thing color = "red"')).body.data!.oidlist, [...old, created].map(String), 'old and new objects alike');
  t.same((await a2.cmd('FIND Thing note = ""')).body.data!.oidlist, [...old, created].map(String), 'an optional property without default: stored as ""');
  t.same((await a2.cmd(`GET ${old[0]} . Extra`)).body.data!.DATA, { CLASSVER: '1.0', NAMESPACE: 'Extra', level: '3' });
  await a2.cmd(`SET ${old[1]} color = "blue"`);
  t.same((await a2.cmd('FIND Thing color = "red"')).body.data!.oidlist, [old[0], created].map(String));
  await d2.close();

  const d3 = await start(v2);
  t.teardown(() => d3.close());
  t.notOk(d3.logs.some((l) => l.includes('stored the defaults')), 'an unchanged schema stores nothing');
  const a3 = await adminClient(d3);
  t.same((await a3.cmd('FIND Thing color = "blue"')).body.data!.oidlist, [String(old[1])], 'what was set since stays');
});

// The store opened as the daemon opens it (the fill left to storeDefaults()), on the suite's backend.
t.test('until the defaults are stored, finds treat a missing row as the default; stored, the same answers', async (t) => {
  const dir = t.testdir({
    state: {},
    v1: { '10-thing.json': JSON.stringify({ classes: [thing] }) },
    v2: { '10-thing.json': JSON.stringify({ classes: [thing] }), '20-more.json': JSON.stringify(more) },
  });
  const stateDir = path.join(dir, 'state');
  const database = onPostgres ? { db_url: await daemonDatabase(stateDir) } : {};
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const open = (version: string) =>
    openStore(resolveConfig({ state_dir: stateDir, schema_dir: `schema,${path.join(dir, version)}`, db_synchronous: 'NORMAL', ...database }), log, { defaults: 'background' });
  const told = () => lines.filter((l) => l.msg === 'stored the defaults of new schema properties for existing objects');

  const before = await open('v1');
  const old: number[] = [];
  for (const name of ['a', 'b', 'c']) old.push(await before.writer.submit((w) => before.store.at(w).create(SYSTEM, 'Thing', { name })));
  await before.storeDefaults();
  await before.close();
  t.strictSame(told(), [], 'v1 on an empty store: nothing to fill');

  const { store, writer, ...after } = await open('v2');
  t.teardown(() => after.close());
  const made = await writer.submit((w) => store.at(w).create(SYSTEM, 'Thing', { name: 'd', color: 'green' }));
  await writer.submit((w) => store.at(w).set(SYSTEM, old[1]!, '', { color: 'blue' }));
  const find = (...criteria: [string, string, '=' | '~', string][]) => store.find(SYSTEM, 'Thing', { criteria: criteria.map(([ns, name, op, value]) => ({ ns, name, op, value })) });
  const answers = async () => ({
    red: await find(['', 'color', '=', 'red']),
    redByName: await find(['', 'name', '=', 'a'], ['', 'color', '=', 'red']),
    blue: await find(['', 'color', '=', 'blue']),
    rish: await find(['', 'color', '~', '^r']),
    level: await find(['Extra', 'level', '=', '3']),
    note: await find(['', 'note', '=', '']),
    sorted: await store.find(SYSTEM, 'Thing', { criteria: [], sortprop: { ns: '', name: 'color' } }),
  });
  const expected = {
    red: [old[0], old[2]],
    redByName: [old[0]],
    blue: [old[1]],
    rish: [old[0], old[2]],
    level: [old[0], old[1], old[2], made],
    note: [old[0], old[1], old[2], made],
    sorted: [old[1], made, old[0], old[2]],
  };
  t.strictSame(await answers(), expected, 'rows missing: found by their defaults');
  await after.storeDefaults();
  t.match(told(), [{ properties: ['Thing.color', 'Thing.note', 'Thing.Extra.level'], rows: 2 + 3 + 3 }], 'each missing row stored once');
  t.strictSame(await answers(), expected, 'rows stored: the same answers');
  await after.close();

  const again = await open('v2');
  t.teardown(() => again.close());
  await again.storeDefaults();
  t.equal(told().length, 1, 'remembered: the next start has nothing to fill');
});
