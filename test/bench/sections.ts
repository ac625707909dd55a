/**
 * The sections `npm run bench` runs, in order. A new one is one import and one
 * line here; each receives a BenchContext (lib.ts) and reports rows with it.
 * tx, devices and flash were written with their own entry points (their own
 * servers and baselines, figures printed as lines); small adapters below turn
 * their results into rows and their lines into notes.
 */
import type { BenchContext, BenchSection, Measured } from './lib.js';
import { core } from './core.js';
import { gate } from './gate.js';
import { benchTx } from './tx.js';
import { benchDevices } from './devices.js';
import { benchFlash } from './flash.js';
import { oidc } from './oidc.js';
import { events } from './events.js';
import { scale } from './scale.js';
import { pantahub } from './pantahub.js';
import { findRegex } from './find-regex.js';
import { port } from './port.js';
import { commitReads } from './commit-reads.js';
import { nodes } from './nodes.js';

/**
 * A row from figures a section measured itself: only req/s, p99 and its own baseline's req/s are known.
 * Without a baseline of its own (batches/s, AUTH, a list), the ratio means nothing: NaN prints '-'.
 */
function figures(rps: number, p99: number, bareRps = NaN): Measured {
  return { rps, p50: NaN, p99, errors: 0, non2xx: 0, serverCpu: NaN, clientCpu: NaN, cpuPerRequest: NaN, pairedBaseline: bareRps };
}

/** Those sections' own measurements last half of BENCH_DURATION (5 s by default), to keep the whole run short. */
const halfDuration = (ctx: BenchContext) => Math.max(2, Math.round(ctx.options.duration / 2));

/** Their printed lines start with the section's name, which the notes already show. */
const noteOf = (ctx: BenchContext) => (line: string) => ctx.note(line.replace(/^\w+: /, ''));

const tx: BenchSection = {
  name: 'tx',
  async run(ctx) {
    const r = await benchTx({ print: noteOf(ctx), runs: 5, batchesPerSession: 10 });
    ctx.report('BEGIN + 10 SET + COMMIT', figures(r.batches.batchesPerSecond, NaN), undefined, `batches/s, ${r.batches.sessions} sessions; COMMIT of 1000 SETs: median ${r.commit1000.medianMs} ms`);
  },
};

const devices: BenchSection = {
  name: 'devices',
  async run(ctx) {
    const r = await benchDevices({ devices: ctx.options.objects, durationSec: halfDuration(ctx), print: noteOf(ctx) });
    ctx.report('heartbeat (coalesced)', figures(r.heartbeatsPerSec, r.heartbeatP99Ms, r.bareReqPerSec), undefined, `beats/s at ${r.devices} devices, 200 connections; target 5000/s`);
    ctx.report('heartbeat (flush_ms=0)', figures(r.heartbeatsPerSecNoCoalescer, NaN, r.bareReqPerSec), undefined, `${r.commitsPerSecNoCoalescer} commits/s; cold: first beats`);
    ctx.report('heartbeat (warm fleet)', figures(r.heartbeatsPerSecWarm, r.heartbeatWarmP99Ms, r.bareReqPerSec), undefined, 'every device beat once first (steady state); target 5000/s');
    ctx.report('GET /api/devices?limit=100', figures(r.listReqPerSec, r.listP99Ms), undefined, `${r.devices} devices, 10 connections`);
  },
};

const flash: BenchSection = {
  name: 'flash',
  async run(ctx) {
    // Throughput of one 200 MiB file, against `cp` of the same file on the same disk in the same run.
    const r = await benchFlash({ print: noteOf(ctx) });
    ctx.report('firmware upload (MiB/s)', figures(r.uploadMiBPerSec, NaN), undefined, `${r.sizeMiB} MiB; ${r.uploadRatioToCp.toFixed(2)}x cp (${r.cpMiBPerSec.toFixed(0)} MiB/s)`);
    ctx.report('firmware download (MiB/s)', figures(r.downloadMiBPerSec, NaN), undefined, `${r.sizeMiB} MiB; ${r.downloadRatioToCp.toFixed(2)}x cp`);
  },
};

export const SECTIONS: readonly BenchSection[] = [core, gate, oidc, tx, devices, flash, events, scale, commitReads, pantahub, findRegex, port, nodes];
