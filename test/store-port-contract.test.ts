/**
 * The store port's contract (test/contract/store-port.ts) run against each
 * backend: SQLite through its asynchronous adapter, and PostgreSQL on the
 * server test/helpers/postgres.ts provides (skipped, with the reason, where
 * there is none; never in CI, which sets TEST_REQUIRE_POSTGRES=1). Each case
 * gets a new empty database, closed (and on PostgreSQL dropped) when it ends.
 */
import t, { type Test } from 'tap';
import pg from 'pg';
import path from 'node:path';
import { openSqlite } from '../src/store/sqlite/backend.js';
import { SqliteAsyncBackend } from '../src/store/sqlite/async-adapter.js';
import { openPostgres } from '../src/store/postgres/backend.js';
import { PG_MIGRATIONS } from '../src/store/postgres/migrations.js';
import { uniqueProperties } from '../src/store/async-port.js';
import { loadSchema } from '../src/schema/loader.js';
import { storePortContract } from './contract/store-port.js';
import { sharedContract } from './contract/shared.js';
import { exportStore, importStore, seedStore } from './contract/transfer.js';
import { testDatabase } from './helpers/postgres.js';
import { anchoredPrefix, byteOrderEnd } from '../src/store/prefix.js';
import { ClientPatterns } from '../src/store/safe-regex.js';

t.test('SQLite', async (t) => {
  storePortContract(t, async (t) => {
    const file = path.join(t.testdir(), 'store.db');
    const open = async () => new SqliteAsyncBackend(openSqlite(file));
    const backend = await open();
    t.teardown(() => backend.close());
    return { backend, another: open };
  });
  sharedContract(t, async (t) => {
    const dir = t.testdir();
    let made = 0;
    const open = async (file = path.join(dir, 'store.db')) => new SqliteAsyncBackend(openSqlite(file));
    const backend = await open();
    t.teardown(() => backend.close());
    return {
      backend,
      another: () => open(),
      // The adapter queues a file's transactions: the other waits behind the open one from the start.
      changeLogWaiter: () => Promise.resolve(),
      fresh: () => open(path.join(dir, `fresh-${++made}.db`)),
    };
  });
});

t.test('the literal prefix of a `~` pattern (store/prefix.ts): only when certain', async (t) => {
  const cases: [string, string][] = [
    ['^abc', 'abc'], ['^abc?', 'ab'], ['^abc*', 'ab'], ['^abc{2}', 'ab'], ['^ab+c', 'ab'], ['^a\\.b', 'a.b'], ['^a\\db', 'a'],
    ['^a\\u0062', 'a'], ['^ab|c', ''], ['^(ab|c)d', ''], ['^ab(c|d)', 'ab'], ['^ab[|]c', 'ab'], ['^ab[]|]c', 'ab'], ['^[[:alpha:]|]x', ''],
    ['(?i)^ab', ''], ['^(?i)ab', ''], ['ab', ''], ['^', ''], ['^.b', ''], ['^é😀?', 'é'], ['^😀x', '😀x'], ['^a\u0000b', 'a'],
    ['^a b#c', 'a b#c'], ['^ab$', 'ab'], ['^a\\|b', 'a|b'], ['^a\\\\|b', ''],
  ];
  for (const [pattern, prefix] of cases) t.equal(anchoredPrefix(pattern), prefix, JSON.stringify(pattern));
  t.equal(byteOrderEnd('ab'), 'ac');
  t.equal(byteOrderEnd('a\u{D7FF}'), 'a\u{E000}', 'past the surrogates');
  t.equal(byteOrderEnd('a\u{10FFFF}'), 'b');
  t.equal(byteOrderEnd('\u{10FFFF}'), undefined);
  // Every match of every pattern RE2 accepts starts with its prefix: random patterns over a small alphabet of
  // literals and metacharacters, against random values.
  const patterns = new ClientPatterns();
  const alphabet = ['a', 'b', '^', '|', '(', ')', '?', '*', '+', '{1}', '[', ']', '\\', '.', '(?i)', 'é', '$'];
  let seed = 1;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  let checked = 0;
  let accepted = 0;
  let withPrefix = 0;
  const wrong: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const pattern = '^' + Array.from({ length: 1 + random(6) }, () => alphabet[random(alphabet.length)]).join('');
    try {
      patterns.compile(pattern);
    } catch {
      continue;
    }
    const prefix = anchoredPrefix(pattern);
    accepted++;
    if (prefix !== '') withPrefix++;
    for (let j = 0; j < 20; j++) {
      const value = Array.from({ length: random(5) }, () => 'abAB.é|'[random(7)]).join('');
      if (patterns.test(pattern, value) && !value.startsWith(prefix)) wrong.push(`${pattern} ${value}`);
      checked++;
    }
  }
  t.ok(checked > 10_000 && withPrefix > 200, `${accepted} patterns RE2 accepts (${withPrefix} with a prefix), ${checked} (pattern, value) pairs`);
  t.same(wrong, [], 'no match outside its prefix');
});

t.test('PostgreSQL', async (t) => {
  // Asked once up front, so a missing server skips the whole backend with its reason.
  const probe = await testDatabase(t);
  /** A new empty database, a backend on it, and a way to open more (each a pool of 4: a node). */
  const pgWorld = async (t: Test) => {
    const db = await testDatabase(t);
    const open = () => openPostgres(db.url!, { max: 4 });
    const backend = await open();
    t.teardown(() => backend.close());
    return { backend, another: open };
  };
  t.test('the contract', { skip: probe.skip ?? false }, async (t) => {
    storePortContract(t, pgWorld);
  });

  t.test('what nodes share', { skip: probe.skip ?? false }, async (t) => {
    sharedContract(t, async (t) => {
      const { backend, another } = await pgWorld(t);
      /** Ungranted advisory locks in this database: a transaction waiting for the change log's. */
      const waiting = async () => {
        const { rows } = await backend.pool.query<{ n: number }>(
          "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        );
        return rows[0]!.n;
      };
      return {
        backend,
        another,
        async changeLogWaiter() {
          for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
          if ((await waiting()) === 0) throw new Error('no transaction came to wait for the change log');
        },
        fresh: async () => {
          const other = await testDatabase(t);
          return openPostgres(other.url!, { max: 4 });
        },
      };
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

  t.test('~ with a literal prefix: the planner can scan both partial indexes for its range', { skip: probe.skip ?? false }, async (t) => {
    const db = await testDatabase(t);
    const b = await openPostgres(db.url!);
    t.teardown(() => b.close());
    // The planner may scan both partial indexes for the range (it would seq-scan a table this small otherwise).
    const client = await b.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        "EXPLAIN SELECT d.oid FROM props d WHERE d.class = 'Thing' AND d.ns = '' AND d.name = 'name' AND ((octet_length(d.value) <= 2000 AND d.value >= 'ab' AND d.value < 'ac') OR (octet_length(d.value) > 2000 AND d.value >= 'ab' AND d.value < 'ac'))",
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      t.match(plan, /props_find/);
      t.match(plan, /props_long/);
      await client.query('RESET enable_seqscan');
    } finally {
      client.release();
    }
  });

  t.test('a store moved from SQLite into PostgreSQL, and back: oids and references kept, read back identically', { skip: probe.skip ?? false }, async (t) => {
    const dir = t.testdir();
    const source = new SqliteAsyncBackend(openSqlite(path.join(dir, 'source.db')));
    t.teardown(() => source.close());
    const ids = await seedStore(source);
    const exported = await exportStore(source);
    const db = await testDatabase(t);
    const pgStore = await openPostgres(db.url!);
    t.teardown(() => pgStore.close());
    await importStore(pgStore, exported);
    t.same(await exportStore(pgStore), exported, 'PostgreSQL holds what SQLite held');
    t.same(await pgStore.objects.values(ids.device, ''), { name: 'dev1', owner: String(ids.bob), peers: `&${ids.ann}&${ids.bob}&` });
    t.equal(await pgStore.objects.value(Number(await pgStore.objects.value(ids.device, '', 'owner')), '', 'name'), 'bob', 'the reference names the same user');
    t.equal(await pgStore.objects.credential(ids.bob, 'password'), 'hash-bob');
    t.same(await pgStore.events.list(ids.device, 5), [...exported.events].reverse().map(({ device_oid: _, ...e }) => e));
    t.ok((await pgStore.transaction((tx) => tx.objects.insertObject('User', 1))) > ids.device, 'the oid sequence is past every kept oid');
    const back = new SqliteAsyncBackend(openSqlite(path.join(dir, 'back.db')));
    t.teardown(() => back.close());
    const fromPg = await exportStore(pgStore);
    await importStore(back, { ...fromPg, objects: fromPg.objects.filter((o) => o.oid <= ids.device), count: exported.count });
    t.same(await exportStore(back), exported, 'and back into SQLite');
  });

  t.test('a job whose lock connection dies: it learns it lost the job, another node may run it, and it can take it again', { skip: probe.skip ?? false }, async (t) => {
    const db = await testDatabase(t);
    const [a, b] = await Promise.all([openPostgres(db.url!), openPostgres(db.url!)]);
    t.teardown(() => Promise.all([a.close(), b.close()]));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = a.tryExclusive('sweep', async (lost) => {
      started();
      await new Promise((resolve) => lost.addEventListener('abort', resolve));
      return 'stopped: lost';
    });
    await running;
    t.same(await b.tryExclusive('sweep', () => Promise.resolve('b')), { ran: false }, 'held by the first node');
    await b.pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    t.same(await first, { ran: true, value: 'stopped: lost' }, 'the job was told');
    // The client hears of its end before the server process has finished ending (and released its locks).
    let after = await b.tryExclusive('sweep', () => Promise.resolve('b'));
    for (let i = 0; i < 100 && !after.ran; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await b.tryExclusive('sweep', () => Promise.resolve('b'));
    }
    t.same(after, { ran: true, value: 'b' }, 'another node runs it');
    t.same(await a.tryExclusive('sweep', () => Promise.resolve('a again')), { ran: true, value: 'a again' }, 'on a new lock connection');
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
