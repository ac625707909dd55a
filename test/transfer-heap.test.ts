/**
 * `cced import` and `cced export` of a store larger than the console's heap: each runs in a child whose V8 heap
 * is capped (--max-old-space-size) well below the file's size, so neither may hold the file or the store;
 * both read and write one object at a time. The round trip keeps every object's value. And an import of many
 * small objects, in one transaction, keeps nothing per object until its COMMIT (a bulk write).
 */
import t from 'tap';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { consoleEnv, onPostgres } from './helpers/daemon.js';
import { runTs } from './helpers/spawn.js';
import { withoutCced } from './helpers/main-process.js';
import { withStoreRows } from './helpers/store-rows.js';

/** The console's heap, in MiB: what it needs to start (with the tests' TypeScript loader) and some room. */
const HEAP_MIB = 80;
/** Objects of 60,000 bytes each: about twice the heap. */
const OBJECTS = 2_800;
const VALUE_BYTES = 60_000;
/** Small objects: what one transaction would keep for each until its COMMIT would pass the heap. */
const SMALL_OBJECTS = Number(process.env.TEST_HEAP_SMALL_OBJECTS ?? 40_000);

const dir = mkdtempSync(path.join(tmpdir(), 'cced-transfer-heap-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => path.join(dir, name);
const cced = async (state: string, args: string[]) =>
  runTs('src/cli/cced-bin.ts', args, { env: { ...withoutCced(), ...(await consoleEnv(state)), NODE_OPTIONS: `--max-old-space-size=${HEAP_MIB}` } });

const valueOf = (i: number) => `${i}:`.padEnd(VALUE_BYTES, String.fromCharCode(97 + (i % 26)));

t.test(`a store of about ${Math.round((OBJECTS * VALUE_BYTES) / 2 ** 20)} MiB through a console of ${HEAP_MIB} MiB of heap`, async (t) => {
  const seed = f('seed.jsonl');
  const out = createWriteStream(seed);
  for (let i = 0; i < OBJECTS; i++) {
    const main = { device_key: `HEAP${i}`, token_code: `heap-device-token-${i}`, distrib_json: valueOf(i) };
    if (!out.write(JSON.stringify({ oid: 10 + i, class: 'Device', namespaces: { '': main } }) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  t.ok(statSync(seed).size > 2 * HEAP_MIB * 2 ** 20, 'the file is more than twice the heap');

  const state = f('state');
  const imp = await cced(state, ['import', seed]);
  t.equal(imp.code, 0, 'the import succeeds', { stderr: imp.stderr.slice(-2000) });
  t.equal(imp.stdout, `imported ${OBJECTS} objects\n`);

  const file = f('out.jsonl');
  const exp = await cced(state, ['export', file]);
  t.equal(exp.code, 0, 'the export succeeds', { stderr: exp.stderr.slice(-2000) });
  t.equal(exp.stdout, `exported ${OBJECTS} objects to ${file}\n`);

  // Read back here, a line at a time: every object at its oid with its whole value.
  let objects = 0;
  let wrong = 0;
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    const o = JSON.parse(line) as { oid?: number; namespaces?: Record<string, Record<string, string>> };
    if (o.oid === undefined) continue;
    const i = o.oid - 10;
    if (o.namespaces?.['']?.distrib_json !== valueOf(i) || o.namespaces['']!.device_key !== `HEAP${i}`) wrong++;
    objects++;
  }
  t.equal(objects, OBJECTS, 'every object exported');
  t.equal(wrong, 0, 'each with its values');
});

// On PostgreSQL an object costs ~25 round trips (minutes for these): what is kept per write there is the same code
// above the port, and test/transfer checks the bulk write's rows and audit line on both backends.
const skipSmall = onPostgres && 'SQLite only: tens of thousands of objects take minutes on PostgreSQL';
t.test(`${SMALL_OBJECTS} small objects imported in one transaction by a console of ${HEAP_MIB} MiB of heap`, { skip: skipSmall }, async (t) => {
  const seed = f('small.jsonl');
  const out = createWriteStream(seed);
  for (let i = 0; i < SMALL_OBJECTS; i++) {
    const line = JSON.stringify({ oid: 10 + i, class: 'Device', namespaces: { '': { device_key: `SMALL${i}`, token_code: `small-device-token-${i}` } } });
    if (!out.write(line + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));

  const state = f('small-state');
  const imp = await cced(state, ['import', seed]);
  t.equal(imp.code, 0, 'the import succeeds', { stderr: imp.stderr.slice(-2000) });
  t.equal(imp.stdout, `imported ${SMALL_OBJECTS} objects\n`);
  const rows = await withStoreRows(state, (query) => query("SELECT count(*) AS n, min(oid) AS low, max(oid) AS high FROM objects WHERE class = 'Device'"));
  t.strictSame(rows.map((r) => [Number(r.n), Number(r.low), Number(r.high)]), [[SMALL_OBJECTS, 10, 10 + SMALL_OBJECTS - 1]], 'every device, at its oid');
});
