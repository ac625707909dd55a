/**
 * Instances: `CCED_INSTANCE=name` or `--instance name` loads cced.conf and then cced.<name>.conf beside it,
 * which states its own state_dir. Two instances of one configuration run side by side on one host, each on
 * its own store, and the console acts on the one it is told (and says which).
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMain, withoutCced } from './helpers/main-process.js';
import { runTs } from './helpers/spawn.js';
import { ADMIN_PASSWORD, CceClient, type TestDaemon } from './helpers/daemon.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cced-instances-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);
const conf = f('cced.conf');
writeFileSync(conf, `listen_address = 127.0.0.1:0\nstate_dir = ${f('shared')}\ndb_synchronous = NORMAL\ntoken_lifetime = 300\n`);
writeFileSync(f('cced.north.conf'), `state_dir = ${f('north')}\n`);
writeFileSync(f('cced.south.conf'), `# south keeps its tokens longer\nstate_dir = ${f('south')}\ntoken_lifetime = 900\n`);
writeFileSync(f('cced.nostate.conf'), 'token_lifetime = 60\n');
const cced = (args: string[], env: Record<string, string> = {}) => runTs('src/cli/cced-bin.ts', args, { env: { ...withoutCced(), ...env } });

t.test('two instances side by side, each on its own store', async (t) => {
  const env = { CCED_ADMIN_PASSWORD: ADMIN_PASSWORD };
  const [north, south] = await Promise.all([
    startMain(['--config', conf, '--instance', 'north'], env),
    startMain([], { ...env, CCED_CONFIG: conf, CCED_INSTANCE: 'south' }),
  ]);
  t.teardown(async () => {
    await north.stop();
    await south.stop();
  });
  t.not(north.url, south.url, 'two listeners');
  const n = await new CceClient({ url: north.url } as TestDaemon).login();
  const s = await new CceClient({ url: south.url } as TestDaemon).login();
  t.equal((await n.cmd('SET 1 hostname="north-host"')).status, 200);
  t.equal((await s.cmd('SET 1 hostname="south-host"')).status, 200);
  t.equal((await n.cmd('GET 1')).body.data.DATA.hostname, 'north-host', 'north kept its own write');
  t.equal((await s.cmd('GET 1')).body.data.DATA.hostname, 'south-host', 'south kept its own write');
  t.ok(existsSync(f('north/cced.db')) && existsSync(f('south/cced.db')), 'one store each');
  t.notOk(existsSync(f('shared')), "the base file's state_dir is nobody's");

  // The console, beside both: the instance it is told, said on its first line.
  const list = await cced(['--config', conf, '--instance', 'south', 'check-config']);
  t.equal(list.code, 0, list.stderr);
  t.equal(list.stderr, `cced: configuration ${conf} + ${f('cced.south.conf')} (instance south); store ${f('south/cced.db')}\n`);
  t.match(list.stdout, `state ${f('south')},`);
  const north2 = await cced(['user', 'add', 'only-north'], { CCED_CONFIG: conf, CCED_INSTANCE: 'north' });
  t.equal(north2.code, 0, north2.stderr);
  t.equal((await n.cmd('FIND User name = "only-north"')).body.data.oidlist.length, 1);
  t.equal((await s.cmd('FIND User name = "only-north"')).body.data, undefined, 'south has no such user');
});

t.test('an instance that cannot be loaded is refused, by the daemon and the console alike', async (t) => {
  const cases: [string[], Record<string, string>, string][] = [
    [['--config', conf, '--instance', 'east'], {}, `config: cannot read ${f('cced.east.conf')}: ENOENT`],
    [['--config', conf, '--instance', 'nostate'], {}, `config: ${f('cced.nostate.conf')}: an instance states its own state_dir (two instances never share a store)`],
    [['--instance', 'north'], {}, 'instance north: needs a configuration file (--config or CCED_CONFIG) to find cced.north.conf beside it'],
    [['--config', conf], { CCED_INSTANCE: '../etc' }, 'instance: "../etc" is not a valid instance name (letters, digits, \'-\' and \'_\', at most 64)'],
  ];
  for (const [args, env, line] of cases) {
    const r = await cced([...args, 'check-config'], env);
    t.equal(r.code, 1, line);
    t.equal(r.stderr, `cced: ${line}\n`);
  }
  const started = await runTs('src/main.ts', ['--config', conf, '--instance', 'nostate'], { env: withoutCced() });
  t.equal(started.code, 2);
  t.equal(started.stderr, `cced: config: ${f('cced.nostate.conf')}: an instance states its own state_dir (two instances never share a store)\n`);
});
