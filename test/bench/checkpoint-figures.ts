/**
 * The daemon's WAL checkpoint figures (/api/metrics db_metrics.checkpoints),
 * and what changed between two readings: the scale bench and the profile tool
 * print how often the writes were held back for a checkpoint during a run.
 */
import { daemonMetrics, type DaemonMetrics } from './lib.js';

export type CheckpointFigures = DaemonMetrics['db_metrics'];

export async function checkpointFigures(url: string, token: string): Promise<CheckpointFigures> {
  return (await daemonMetrics(url, token)).db_metrics;
}

/**
 * `after` less `before`, as one line: checkpoints, the WAL's restarts, writes held in all, the longest hold, the WAL
 * file after. The daemon keeps only the longest hold since it started: when none between the two readings
 * was longer than the one before them, that one is what bounds them.
 */
export function checkpointsBetween({ checkpoints: before }: CheckpointFigures, { checkpoints: after, wal_bytes }: CheckpointFigures, seconds: number): string {
  const held = after.held_ms - before.held_ms;
  const longest =
    held === 0 ? '' : after.longest_held_ms > before.longest_held_ms ? `, longest ${after.longest_held_ms.toFixed(0)} ms` : `, none longer than ${before.longest_held_ms.toFixed(0)} ms`;
  return `${after.runs - before.runs} (the WAL started over ${after.wal_restarts - before.wal_restarts} times); writes held ${held.toFixed(0)} ms (${((100 * held) / (seconds * 1000)).toFixed(1)}% of the time${longest}); WAL file ${(wal_bytes / 2 ** 20).toFixed(0)} MiB`;
}
