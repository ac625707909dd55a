/**
 * GET /api/metrics?action=get: the host and the daemon at a glance, in the
 * document's shape (cpu, memory, disk, uptime, process, database, timestamp).
 * The document's php_process / php_version are process / node_version here.
 */
import { statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { Services } from '../services.js';

const MB = 1024 * 1024;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** A file's size in bytes; 0 when it does not exist (no WAL between checkpoints). */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * SQLite's WAL checkpoints since start: how many, after how many the WAL started over, and how long writes
 * waited for them (in all and at most once, ms); zeros where there are none (PostgreSQL, a memory database).
 */
export function checkpointFigures(s: Services) {
  const t = s.writer.upkeepTotals;
  return { runs: t?.runs ?? 0, wal_restarts: t?.restarts ?? 0, held_ms: round2(t?.heldMs ?? 0), longest_held_ms: round2(t?.longestHeldMs ?? 0) };
}

export async function systemMetrics(s: Services) {
  const [l1, l5, l15] = os.loadavg();
  const total = os.totalmem();
  const free = os.freemem();
  const fs = await statfs(s.config.state_dir);
  const diskTotal = fs.blocks * fs.bsize;
  const diskFree = fs.bavail * fs.bsize;
  const mem = process.memoryUsage();
  return {
    cpu: { loadavg_1min: round2(l1!), loadavg_5min: round2(l5!), loadavg_15min: round2(l15!), cores: os.cpus().length },
    memory: { total_mb: Math.round(total / MB), free_mb: Math.round(free / MB), used_mb: Math.round((total - free) / MB), used_percent: round2(((total - free) / total) * 100) },
    disk: {
      path: s.config.state_dir,
      total_bytes: diskTotal,
      free_bytes: diskFree,
      used_bytes: diskTotal - diskFree,
      used_percent: round2(((diskTotal - diskFree) / Math.max(diskTotal, 1)) * 100),
    },
    uptime_sec: Math.round(os.uptime()),
    process: {
      pid: process.pid,
      uptime_sec: Math.round(process.uptime()),
      rss_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      heap_total_bytes: mem.heapTotal,
    },
    node_version: process.versions.node,
    db_metrics: {
      connected: true,
      objects: await s.store.count(),
      db_file_bytes: sizeOf(s.config.db_path),
      wal_bytes: sizeOf(`${s.config.db_path}-wal`),
      commits: s.writer.commits,
      checkpoints: checkpointFigures(s),
    },
    timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
  };
}
