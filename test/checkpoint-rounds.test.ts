/**
 * WAL checkpoints in rounds (src/store/sqlite/checkpoints.ts): the rounds
 * copy beside the Writer's commits, and only the last one holds the next
 * batch back, once no batch is open. Driven on a database connection of its
 * own with the Checkpoints upkeep alone, so each step is taken when the test
 * says: "a batch" is a transaction of SqliteTransactions on that connection,
 * and each commit is reported to the upkeep as the Writer reports it.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import path from 'node:path';
import { openDb, type Db } from '../src/store/sqlite/db.js';
import { Checkpoints } from '../src/store/sqlite/checkpoints.js';
import { SqliteTransactions } from '../src/store/sqlite/transactions.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Database {
  db: Db;
  batches: SqliteTransactions;
  checkpoints: Checkpoints;
  errors: unknown[];
  /** A batch appending `rows` rows of ~1 KB (WAL frames for a checkpoint to copy), committed and reported. */
  commit(rows: number): void;
  /** Rows committed through commit() so far. */
  committedRows(): number;
}

/**
 * `restartAboveFrames`: 0 (the WAL starts over after every checkpoint) unless a case says otherwise; `everyMs`:
 * 0 (a checkpoint at every commit) unless it says otherwise.
 */
function database(t: { teardown(fn: () => unknown): void }, restartAboveFrames = 0, everyMs = 0): Database {
  const dir = mkdtempSync(path.join(tmpdir(), 'cced-rounds-'));
  const db = openDb(path.join(dir, 'cced.db'), { synchronous: 'NORMAL' });
  db.exec('CREATE TABLE filler (n INTEGER PRIMARY KEY, body TEXT)');
  const batches = new SqliteTransactions(db);
  const checkpoints = new Checkpoints(db, batches, { everyMs, restartAboveFrames });
  const errors: unknown[] = [];
  const insert = db.prepare('INSERT INTO filler (body) VALUES (?)');
  t.teardown(async () => {
    await checkpoints.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let committedRows = 0;
  const commit = (rows: number) => {
    committedRows += rows;
    batches.begin();
    for (let i = 0; i < rows; i++) insert.run('x'.repeat(1000));
    batches.commit();
    checkpoints.committed((err) => errors.push(err));
  };
  return { db, batches, checkpoints, errors, commit, committedRows: () => committedRows };
}

/**
 * The WAL's frames now, read without checkpointing: mxFrame of the WAL-index header, the -shm file's bytes
 * 16-19 in the machine's byte order (sqlite.org/walformat.html).
 */
function walFrames(db: Db): number {
  const shm = readFileSync(`${db.name}-shm`);
  return endianness() === 'LE' ? shm.readUInt32LE(16) : shm.readUInt32BE(16);
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (ok()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** The WAL-index header's salts (bytes 32-39 of the -shm file): SQLite draws new ones each time the WAL starts over. */
function walSalts(db: Db): string {
  return readFileSync(`${db.name}-shm`).subarray(32, 40).toString('hex');
}

/** Whether the Writer would start its next batch now: whenIdle calls back at once. */
function writesFlow(checkpoints: Checkpoints): boolean {
  let now = false;
  checkpoints.whenIdle(() => (now = true));
  return now;
}

t.test('with nothing committed during it, one round is the whole checkpoint, and nothing was held', async (t) => {
  const { db, checkpoints, errors, commit } = database(t);
  commit(2000);
  t.ok(writesFlow(checkpoints), 'while the round copies, the next batch may start');
  await until('the checkpoint ended', () => checkpoints.runs === 1);
  t.equal(checkpoints.lastRounds, 1, 'one round');
  t.equal(checkpoints.lastHeldMs, 0, 'no batch was held back');
  t.ok(checkpoints.lastCopied > 100, `it copied the WAL (${checkpoints.lastCopied} frames)`);
  commit(1);
  const log = walFrames(db);
  t.ok(log < 50, `the next write started the WAL over (${log} frames in it)`);
  t.strictSame(errors, []);
});

t.test('a round that copied many frames is followed by another beside the commits, not by a held one', async (t) => {
  const { checkpoints, errors, commit } = database(t);
  commit(8000);
  commit(50);
  await until('the checkpoint ended', () => checkpoints.runs === 1);
  t.equal(checkpoints.lastRounds, 2, 'a second round copied what was committed during the first');
  t.equal(checkpoints.lastHeldMs, 0, 'nothing committed during the second: complete, nothing held');
  t.strictSame(errors, []);
});

t.test('commits during a small round: the last round holds the next batch, after the open one ended', async (t) => {
  const { db, batches, checkpoints, errors, commit } = database(t);
  commit(400);
  // A batch commits while the first round copies, and another stays open (paused between two slices).
  commit(50);
  t.ok(writesFlow(checkpoints), 'the first round holds nothing back');
  batches.begin();
  db.prepare("INSERT INTO filler (body) VALUES ('open batch')").run();
  // The first round copied fewer than HOLD_BELOW_FRAMES: the next is held, once the open batch has ended.
  await until('new batches are held back', () => !writesFlow(checkpoints));
  let released = false;
  checkpoints.whenIdle(() => (released = true));
  await sleep(50);
  t.equal(checkpoints.runs, 0, 'the held round waits for the open batch');
  t.notOk(released, 'and so does the next batch');
  batches.commit();
  checkpoints.committed((err) => errors.push(err));
  await until('the held round ended', () => released);
  t.equal(checkpoints.runs, 1, 'the checkpoint is complete');
  t.equal(checkpoints.lastRounds, 2, 'in two rounds');
  t.ok(checkpoints.lastHeldMs > 0, 'of which the last held the writes back');
  t.ok(writesFlow(checkpoints), 'then batches start at once again');
  commit(1);
  const log = walFrames(db);
  t.ok(log < 50, `the held round copied everything: the next write started the WAL over (${log} frames in it)`);
  t.equal((db.prepare('SELECT count(*) AS n FROM filler').get() as { n: number }).n, 452, 'every row is there');
  t.strictSame(errors, []);
});

t.test('a steady stream of commits: no batch is held while the WAL is short; past the bound the WAL starts over', async (t) => {
  const { db, checkpoints, errors, commit, committedRows } = database(t, 500);
  // Small batches every few ms: the checkpoints' rounds race them, and the WAL stays far below 500 frames.
  let held = 0;
  let most = 0;
  for (let i = 0; i < 400 && checkpoints.runs < 5; i++) {
    // As the Writer: a batch starts only when no round holds the writes back.
    if (writesFlow(checkpoints)) commit(10);
    else held++;
    most = Math.max(most, walFrames(db));
    await sleep(5);
  }
  t.ok(checkpoints.runs >= 5, `${checkpoints.runs} checkpoints ran`);
  t.ok(most < 500, `the WAL stayed short (${most} frames at most)`);
  t.equal(held, 0, 'no batch was ever held back');
  t.equal(checkpoints.totals.heldMs, 0);

  // Past the bound: some checkpoint's last round holds the writes, and the WAL starts over.
  commit(3000);
  const long = walFrames(db);
  t.ok(long > 500, `the WAL is past the bound (${long} frames)`);
  for (let i = 0; i < 400 && checkpoints.totals.heldMs === 0; i++) {
    if (writesFlow(checkpoints)) commit(10);
    await sleep(5);
  }
  await until('no round holds the writes', () => writesFlow(checkpoints));
  t.ok(checkpoints.totals.heldMs > 0 && checkpoints.totals.longestHeldMs > 0, 'a last round held the writes back');
  t.ok(checkpoints.totals.restarts >= 1, 'and the WAL starts over');
  commit(1);
  const log = walFrames(db);
  t.ok(log < long, `the WAL started over (${log} frames in it)`);
  const rows = (db.prepare('SELECT count(*) AS n FROM filler').get() as { n: number }).n;
  t.equal(rows, committedRows(), 'every row is there');
  t.strictSame(errors, []);
});

t.test('a checkpoint that left the WAL past half the bound: the next commit starts another at once', async (t) => {
  // The interval is a minute: a second checkpoint within the test comes only from the WAL's length.
  const short = database(t, 1000, 60_000);
  // ~130 frames, and a commit during the round: the checkpoint ends, the WAL short of half the bound.
  short.commit(400);
  short.commit(50);
  await until('the first checkpoint ended', () => short.checkpoints.runs === 1);
  short.commit(10);
  await sleep(100);
  t.equal(short.checkpoints.runs, 1, 'short of half the bound: the next checkpoint waits for the interval');

  const long = database(t, 1000, 60_000);
  // ~650 frames: past half the bound, not past the bound (no held round).
  long.commit(2500);
  long.commit(10);
  await until('the first checkpoint ended', () => long.checkpoints.runs === 1);
  t.equal(long.checkpoints.lastHeldMs, 0, 'it held nothing');
  long.commit(10);
  await until('a second checkpoint ended within the interval', () => long.checkpoints.runs === 2);
  t.strictSame([...short.errors, ...long.errors], []);
});

t.test('closing during the rounds ends them; a held batch stays held (the database is closing)', async (t) => {
  const { checkpoints, commit } = database(t);
  commit(2000);
  commit(10);
  await checkpoints.close();
  t.equal(checkpoints.runs, 0, 'no checkpoint was reported complete');
});

t.test('the WAL restarts in the metrics are each time it started over, however the checkpoint before ended', async (t) => {
  const { db, checkpoints, commit } = database(t, 500);
  // Small batches racing the checkpoints' rounds: some rounds that a commit raced copied everything all the same.
  let seen = 0;
  let salts = walSalts(db);
  for (let i = 0; i < 2000; i++) {
    // A WAL starts over only at a commit (the checkpoints never restart it): read right after each one.
    if (writesFlow(checkpoints)) commit(1 + (i % 7));
    const now = walSalts(db);
    if (now !== salts) seen++;
    salts = now;
    await (i % 3 === 0 ? sleep(1) : new Promise((resolve) => setImmediate(resolve)));
  }
  t.ok(seen > 3, `the WAL started over ${seen} times`);
  t.equal(checkpoints.totals.restarts, seen, 'and the metrics say so');
});
