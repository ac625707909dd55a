/**
 * What SQLite's COMMIT statement costs after a transaction larger than the
 * connection's page cache, alone (no daemon): on a copy of a kept seeded
 * fleet (test/bench/scale.ts, BENCH_SCALE_SEEDS), the daemon's settings (WAL,
 * synchronous=NORMAL as under WalSync) and a given page cache, one
 * transaction writes a `note` row and touches `updated_at` for 10,000 random
 * devices, as a COMMIT of 10,000 queued SETs does; prints the time of the
 * writes, of the COMMIT statement, and the WAL frames written before COMMIT
 * (spilled from the cache) and by it. The statement holds the event loop in
 * the daemon, however the batch before it is sliced.
 *
 *   node dist/test/bench/scale-commit-statement.js SEEDS_DIR DEVICES CACHE_KIB...
 */
import Database from 'better-sqlite3';
import { copyFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { tempStateDir } from './lib.js';

/** A WAL frame: the page and its 24-byte header. */
const FRAME = 4096 + 24;
const SETS = 10_000;

function once(file: string, cacheKib: number): string {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`cache_size = -${cacheKib}`);
    // The daemon checkpoints on its own thread between batches: none inside this one.
    db.pragma('wal_autocheckpoint = 0');
    const oids = db.prepare("SELECT oid FROM objects WHERE class = 'Device' ORDER BY random() LIMIT ?").pluck().all(SETS) as number[];
    const put = db.prepare(
      "INSERT INTO props (oid, ns, name, class, value) VALUES (?, '', 'note', 'Device', ?) ON CONFLICT (oid, ns, name) DO UPDATE SET value = excluded.value",
    );
    const touch = db.prepare('UPDATE objects SET updated_at = ? WHERE oid = ?');
    const wal = () => statSync(`${file}-wal`).size;
    const before = wal();
    db.exec('BEGIN');
    const t0 = performance.now();
    for (const oid of oids) {
      put.run(oid, `commit ${cacheKib}`);
      touch.run(Date.now(), oid);
    }
    const t1 = performance.now();
    const spilled = wal();
    db.exec('COMMIT');
    const t2 = performance.now();
    const frames = (a: number, b: number) => ((b - a) / FRAME).toFixed(0);
    return `cache ${cacheKib} KiB: ${SETS} SETs ${(t1 - t0).toFixed(0)} ms, ${frames(before, spilled)} frames spilled; COMMIT ${(t2 - t1).toFixed(1)} ms, ${frames(spilled, wal())} frames`;
  } finally {
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
}

const [seeds, devices, ...caches] = process.argv.slice(2);
const dir = tempStateDir();
const file = path.join(dir, 'cced.db');
try {
  copyFileSync(path.join(seeds!, `devices-${devices}.db`), file);
  for (const kib of caches) console.log(once(file, Number(kib)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
