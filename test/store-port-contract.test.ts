/**
 * The store port's contract (test/contract/store-port.ts) run against each
 * backend: SQLite through its asynchronous adapter, and PostgreSQL on the
 * server test/helpers/postgres.ts provides (skipped, with the reason, where
 * there is none; never in CI, which sets TEST_REQUIRE_POSTGRES=1). Each case
 * gets a new empty database, closed (and on PostgreSQL dropped) when it ends.
 */
import t from 'tap';
import pg from 'pg';
import path from 'node:path';
import { openSqlite } from '../src/store/sqlite/backend.js';
import { SqliteAsyncBackend } from '../src/store/sqlite/async-adapter.js';
import { openPostgres } from '../src/store/postgres/backend.js';
import { PG_MIGRATIONS } from '../src/store/postgres/migrations.js';
import { uniqueProperties } from '../src/store/async-port.js';
import { loadSchema } from '../src/schema/loader.js';
import { storePortContract } from './contract/store-port.js';
import { testDatabase } from './helpers/postgres.js';

t.test('SQLite', async (t) => {
  storePortContract(t, async (t) => {
    const file = path.join(t.testdir(), 'store.db');
    const open = async () => new SqliteAsyncBackend(openSqlite(file));
    const backend = await open();
    t.teardown(() => backend.close());
    return { backend, another: open };
  });
});

t.test('PostgreSQL', async (t) => {
  // Asked once up front, so a missing server skips the whole backend with its reason.
  const probe = await testDatabase(t);
  t.test('the contract', { skip: probe.skip ?? false }, async (t) => {
    storePortContract(t, async (t) => {
      const db = await testDatabase(t);
      const open = () => openPostgres(db.url!, { max: 4 });
      const backend = await open();
      t.teardown(() => backend.close());
      return { backend, another: open };
    });
  });

  t.test('migrations: nodes starting together on an empty database make the layout and the unique indexes once; a newer layout is refused', { skip: probe.skip ?? false }, async (t) => {
    const db = await testDatabase(t);
    const nodes = await Promise.all([openPostgres(db.url!), openPostgres(db.url!), openPostgres(db.url!)]);
    t.teardown(() => Promise.all(nodes.map((n) => n.close())));
    const { rows } = await nodes[0]!.pool.query('SELECT version FROM cced_migrations ORDER BY version');
    t.same(rows, PG_MIGRATIONS.map((_, i) => ({ version: i + 1 })), 'each migration ran once');
    t.same(await nodes[1]!.layout(), { version: PG_MIGRATIONS.length, known: PG_MIGRATIONS.length });
    const schema = loadSchema(['schema']);
    await Promise.all(nodes.map((n) => n.enforceUnique(schema)));
    const indexes = await nodes[0]!.pool.query("SELECT count(*) AS n FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'props\\_unique\\_%'");
    t.same(indexes.rows, [{ n: uniqueProperties(schema).length }], 'and the unique indexes once, whichever node comes first');
    await nodes[0]!.pool.query('INSERT INTO cced_migrations (version) VALUES (99)');
    await t.rejects(openPostgres(db.url!), /layout version 99 is newer than this cced knows/);
  });

  t.test('a connection the server ends mid-transaction: the transaction fails, the pool goes on', { skip: probe.skip ?? false }, async (t) => {
    const db = await testDatabase(t);
    const b = await openPostgres(db.url!, { max: 1 });
    t.teardown(() => b.close());
    const admin = new pg.Client({ connectionString: db.url! });
    await admin.connect();
    t.teardown(() => admin.end());
    await t.rejects(
      b.transaction(async (tx) => {
        await tx.objects.insertObject('Thing', 1);
        await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'");
        await new Promise((resolve) => setTimeout(resolve, 100));
        await tx.objects.insertObject('Thing', 2);
      }),
    );
    t.equal(await b.objects.classCount('Thing'), 0, 'nothing of it committed');
    t.equal(await b.transaction((tx) => tx.objects.insertObject('Thing', 3)).then(() => b.objects.classCount('Thing')), 1, 'a new connection serves the next one');
  });
});
