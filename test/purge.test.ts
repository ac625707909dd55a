/**
 * `cced purge` through the real executable on a real store: a dry run by default that prints what it
 * would remove and removes nothing; --apply removes expired tunnel leases (and expired sessions and
 * tokens: test/sessions-restart.test.ts), factory tokens that can join no more devices and, with
 * --older-than, old device events, and nothing else.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { consoleStoreName, onPostgres, startDaemon } from './helpers/daemon.js';
import { daemonDatabase } from './helpers/postgres.js';
import { countRows } from './helpers/store-rows.js';
import { runTs } from './helpers/spawn.js';
import { withoutCced } from './helpers/main-process.js';
import { SYSTEM } from '../src/store/store.js';
import { createFactoryToken, disableFactoryToken } from '../src/devices/pantahub-tokens.js';

const state = mkdtempSync(path.join(tmpdir(), 'cced-purge-'));
t.teardown(() => rmSync(state, { recursive: true, force: true }));
// Under TEST_STORE=postgres the console is also given the daemon's database (else it would open SQLite).
const cced = async (args: string[]) =>
  runTs('src/cli/cced-bin.ts', args, { env: { ...withoutCced(), CCED_STATE_DIR: state, ...(onPostgres ? { CCED_DB_URL: await daemonDatabase(state) } : {}) } });
const DAY = 86_400_000;

const counts = () =>
  countRows(state, {
    tunnels: "SELECT count(*) AS n FROM objects WHERE class = 'Tunnel'",
    tokens: "SELECT count(*) AS n FROM objects WHERE class = 'PantahubToken'",
    events: 'SELECT count(*) AS n FROM device_events',
    objects: 'SELECT count(*) AS n FROM objects',
  });

t.test('dry run, then --apply', async (t) => {
  const d = await startDaemon({ stateDir: state });
  const { store, writer, events } = d.app.services;
  const now = Date.now();
  const [expired] = await writer.submit(async (w) => [
    await store.at(w).create(SYSTEM, 'Tunnel', { device_key: 'ABCD0001', service: 'ssh', port: '9050', expires_at: new Date(now - 60_000).toISOString() }),
    await store.at(w).create(SYSTEM, 'Tunnel', { device_key: 'ABCD0002', service: 'ssh', port: '9051', expires_at: new Date(now + 3_600_000).toISOString() }),
  ]);
  await writer.submit(async (w) => {
    for (const age of [40, 35, 1]) await w.events.append(1, { at: now - age * DAY, event: 'Connected', host: 'h', remote: '10.0.0.1' }, 100);
  });
  // Factory tokens: one disabled, one expired, one used up, one that can still join devices.
  const disabled = (await createFactoryToken(store, writer, { owner: 'admin' })).created;
  await disableFactoryToken(store, writer, 'admin', disabled.id);
  const expiredToken = (await createFactoryToken(store, writer, { owner: 'admin', expiresAt: new Date(now - 1000).toISOString() })).created;
  const usedUp = (await createFactoryToken(store, writer, { owner: 'admin', maxUses: 0 })).created;
  await createFactoryToken(store, writer, { owner: 'admin', maxUses: 5 });
  await d.close();
  const start = await counts();

  const dry = await cced(['purge']);
  t.equal(dry.code, 0, dry.stderr);
  t.equal(dry.stderr, `cced: configuration built-in defaults (no --config, no CCED_CONFIG), overridden by CCED_STATE_DIR${onPostgres ? ' CCED_DB_URL' : ''}; store ${await consoleStoreName(state)}\n`);
  const expiredLine = `tunnel lease ${await expired} (device ABCD0001, ssh, port 9050, expired ${new Date(now - 60_000).toISOString()})`;
  t.equal(
    dry.stdout,
    [
      `would remove: ${expiredLine}`,
      'would remove: 1 expired tunnel leases',
      'device events: kept (give --older-than DAYS to remove old ones)',
      'would remove: 0 expired sessions and tokens',
      `would remove: factory token ${disabled.id} of admin (disabled, joined 0)`,
      `would remove: factory token ${expiredToken.id} of admin (expired, joined 0)`,
      `would remove: factory token ${usedUp.id} of admin (used up, joined 0)`,
      'would remove: 3 factory tokens that can join no more devices',
      'dry run: nothing removed; run again with --apply to remove the above',
      '',
    ].join('\n'),
  );
  t.strictSame(await counts(), start, 'a dry run removes nothing');

  const dryOld = await cced(['purge', '--older-than', '30']);
  t.match(dryOld.stdout, /\nwould remove: 2 device events older than 30 days \(before [-0-9T:.Z]+\)\n/);
  t.strictSame(await counts(), start);

  const apply = await cced(['purge', '--apply', '--older-than', '30']);
  t.equal(apply.code, 0, apply.stderr);
  t.match(apply.stdout, `removed: ${expiredLine}\nremoved: 1 expired tunnel leases\nremoved: 2 device events older than 30 days`);
  t.notMatch(apply.stdout, /dry run/);
  t.match(apply.stdout, '\nremoved: 3 factory tokens that can join no more devices\n');
  t.strictSame(await counts(), { tunnels: start.tunnels - 1, tokens: start.tokens - 3, events: start.events - 2, objects: start.objects - 4 }, 'only the stale rows went');
  t.match(apply.stderr, /"audit":"DESTROY"/, 'the removal is audited');

  const usage = await cced(['purge', '--older-than', 'soon']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /option '--older-than <days>' argument 'soon' is invalid. expected a whole number of days/);
  const help = await cced(['purge', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--apply .*remove them/);
});
