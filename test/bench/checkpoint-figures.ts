/**
 * The daemon's WAL checkpoint figures (/api/metrics db_metrics.checkpoints),
 * and what changed between two readings: the scale bench and the profile tool
 * print how often the writes were held back for a checkpoint during a run.
 */
export interface CheckpointFigures {
  runs: number;
  wal_restarts: number;
  held_ms: number;
  longest_held_ms: number;
  /** The -wal file's size when read (db_metrics.wal_bytes). */
  walBytes: number;
}

/** A sysadmin bearer token (the bench daemons' admin password). */
export async function adminBearer(url: string): Promise<string> {
  const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }) });
  return ((await r.json()) as { token: string }).token;
}

export async function checkpointFigures(url: string, token: string): Promise<CheckpointFigures> {
  const r = await fetch(`${url}/api/metrics?action=get`, { headers: { authorization: `Bearer ${token}` } });
  const db = ((await r.json()) as { metrics: { db_metrics: { checkpoints: Omit<CheckpointFigures, 'walBytes'>; wal_bytes: number } } }).metrics.db_metrics;
  return { ...db.checkpoints, walBytes: db.wal_bytes };
}

/** `after` less `before`, as one line: checkpoints, WAL restarts, writes held in all (longest since start), the WAL file after. */
export function checkpointsBetween(before: CheckpointFigures, after: CheckpointFigures, seconds: number): string {
  const held = after.held_ms - before.held_ms;
  return `${after.runs - before.runs} (${after.wal_restarts - before.wal_restarts} restarting the WAL); writes held ${held.toFixed(0)} ms (${((100 * held) / (seconds * 1000)).toFixed(1)}% of the time, longest ${after.longest_held_ms.toFixed(0)} ms); WAL file ${(after.walBytes / 2 ** 20).toFixed(0)} MiB`;
}
