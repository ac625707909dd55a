/**
 * The memory-ceiling run: the resource attacks of attacks.ts all at once on
 * one daemon (its own process) — stalled 1 MiB bodies, non-admin BEGIN queues
 * of ~1 MB SETs that cannot succeed, a LOGIN flood from a whitelisted address
 * — while its RSS is sampled and PING is sent from another process. `npm run
 * soak` runs it at full scale; test/soak-smoke.test.ts at a small one in CI.
 * The daemon must be started with `api_access = 127.0.0.2` (the LOGIN flood's
 * address) and a failure bound high enough that the flood's own LOGINs are not banned.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildDaemon } from '../helpers/child-daemon.js';
import { ADMIN_PASSWORD } from '../helpers/daemon.js';
import { parseAccessFile } from '../../src/auth/access-file.js';
import { HarnessClient } from './http-client.js';
import { startPingProbe, type PingFigures } from './ping-probe.js';
import { bigQueues, loginFlood, slowBodies } from './attacks.js';

export interface RssSample {
  s: number;
  rss: number;
}

/** Samples the daemon's RSS every `everyMs` until stopped. */
export function sampleRss(d: ChildDaemon, everyMs: number): { stop(): RssSample[] } {
  const t0 = Date.now();
  const samples: RssSample[] = [];
  const take = () => {
    try {
      samples.push({ s: Math.round((Date.now() - t0) / 1000), rss: d.rss() });
    } catch {
      // The daemon is gone (a zombie has no VmRSS): the run reports it dead.
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return { stop: () => { clearInterval(timer); take(); return samples; } };
}

export async function session(c: HarnessClient, user: string, password: string): Promise<{ user: string; sessionid: string }> {
  const r = await c.cce({ cmd: 'AUTH', user, password });
  if (r.status !== 200) throw new Error(`AUTH ${user}: ${r.text}`);
  return { user, sessionid: r.json.data.sessionid as string };
}

export interface CeilingScale {
  seconds: number;
  /** Stalled 1 MiB bodies opened (soak: 800). */
  slowConnections: number;
  /** Sessions of one non-admin, each with its own BEGIN queue (soak: 4). */
  queueSessions: number;
  /** LOGINs in flight at once (soak: 8). */
  loginParallel: number;
}

export interface CeilingFigures {
  slow: Awaited<ReturnType<typeof slowBodies>>;
  queues: Awaited<ReturnType<typeof bigQueues>>;
  logins: Awaited<ReturnType<typeof loginFlood>>;
  ping: PingFigures;
  samples: RssSample[];
  maxRss: number;
}

export async function runCeiling(d: ChildDaemon, scale: CeilingScale): Promise<CeilingFigures> {
  const c = new HarnessClient(d.url);
  try {
    const admin = await session(c, 'admin', ADMIN_PASSWORD);
    await c.cce({ cmd: 'CREATE User name="attacker" password="attacker-password-1"', ...admin });
    const victim = (await c.cce({ cmd: 'CREATE User name="attacked"', ...admin })).json.data.oid as string;
    const attackers = [];
    for (let i = 0; i < scale.queueSessions; i++) attackers.push(await session(c, 'attacker', 'attacker-password-1'));
    const secret = parseAccessFile(readFileSync(path.join(d.stateDir, 'access'), 'utf8')).get('127.0.0.2')!;
    const rss = sampleRss(d, 1000);
    const probe = startPingProbe(d.url, 100, 100);
    await probe.ready;
    const until = Date.now() + scale.seconds * 1000;
    const [slow, queues, logins] = await Promise.all([
      slowBodies(d.url, scale.slowConnections, until),
      bigQueues(d.url, attackers, victim, until),
      loginFlood(d.url, secret, '127.0.0.2', scale.loginParallel, until),
    ]);
    const ping = await probe.stop();
    const samples = rss.stop();
    return { slow, queues, logins, ping, samples, maxRss: Math.max(...samples.map((x) => x.rss)) };
  } finally {
    c.close();
  }
}
