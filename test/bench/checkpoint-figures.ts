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

/** `after` less `before`, as one line: checkpoints, WAL restarts, writes held in all (longest since start), the WAL file after. */
export function checkpointsBetween({ checkpoints: before }: CheckpointFigures, { checkpoints: after, wal_bytes }: CheckpointFigures, seconds: number): string {
  const held = after.held_ms - before.held_ms;
  return `${after.runs - before.runs} (${after.wal_restarts - before.wal_restarts} restarting the WAL); writes held ${held.toFixed(0)} ms (${((100 * held) / (seconds * 1000)).toFixed(1)}% of the time, longest ${after.longest_held_ms.toFixed(0)} ms); WAL file ${(wal_bytes / 2 ** 20).toFixed(0)} MiB`;
}
