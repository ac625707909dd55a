/**
 * A schema that gains properties between two starts: objects created before
 * are found by the new properties' defaults, as objects created after are.
 */
import t from 'tap';
import path from 'node:path';
import { startDaemon, adminClient } from './helpers/daemon.js';

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
  const backfill = d2.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'stored the defaults of new schema properties for existing objects');
  t.match(backfill, { properties: ['Thing.color', 'Thing.note', 'Thing.Extra.level'], rows: 6 });
  const a2 = await adminClient(d2);
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
