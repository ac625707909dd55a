/**
 * `npm run soak -- --minutes N`: a daemon (its own process, shipped settings)
 * under mixed load — PING, GET, SET, FIND and device heartbeats — at half the
 * peak measured first with autocannon. Prints the RSS curve; fails on any
 * error (connection error, timeout, non-2xx) and when RSS at the end exceeds
 * RSS after the first fifth of the run by more than --rss-growth-mib (64).
 *
 * Then a memory-ceiling run (--attack-seconds, 60) on a fresh daemon whose
 * heap is capped at --ceiling-mib (1024): slow bodies, BEGIN queues of 1 MiB
 * writes and a LOGIN flood at once. Prints RSS; fails if the daemon died or
 * its RSS went over the ceiling. Each part can be skipped: --minutes 0,
 * --attack-seconds 0.
 */
import autocannon from 'autocannon';
import { spawnDaemon, type ChildDaemon } from '../helpers/child-daemon.js';
import { ADMIN_PASSWORD, type TestDaemon } from '../helpers/daemon.js';
import { login, newDevice, rest } from '../helpers/meeting.js';
import { HarnessClient } from './http-client.js';
import { numberArgs } from './args.js';
import { reapOnExit } from './reaper.js';
import { startPingProbe } from './ping-probe.js';
import { alive } from './fuzz-run.js';
import { runCeiling, sampleRss, session } from './ceiling.js';

const args = numberArgs(process.argv.slice(2), { minutes: 5, 'rss-growth-mib': 64, 'attack-seconds': 60, 'ceiling-mib': 1024, connections: 16 });
const MiB = 2 ** 20;
const mib = (b: number) => Math.round(b / MiB);
const run = (opts: autocannon.Options) => new Promise<autocannon.Result>((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))));
const failures: string[] = [];

async function start(env: Record<string, string> = {}): Promise<ChildDaemon> {
  const d = await spawnDaemon({ CCED_DB_SYNCHRONOUS: 'FULL', ...env }, { deployed: true });
  reapOnExit(d.pid);
  return d;
}

function curve(samples: { s: number; rss: number }[], points = 12): string {
  const step = Math.max(1, Math.floor(samples.length / points));
  return samples.filter((_, i) => i % step === 0 || i === samples.length - 1).map((x) => `${x.s}s:${mib(x.rss)}`).join(' ');
}

async function soak(minutes: number): Promise<void> {
  const d = await start();
  const c = new HarnessClient(d.url);
  try {
    const admin = await session(c, 'admin', ADMIN_PASSWORD);
    const target = (await c.cce({ cmd: 'CREATE User name="soak-target" fullName="Soak"', ...admin })).json.data.oid as string;
    for (let i = 0; i < 200; i++) await c.cce({ cmd: `CREATE User name="soak${i}" site="s${i % 10}"`, ...admin });
    await c.cce({ cmd: 'CREATE DeviceType name="soak"', ...admin });
    const bearer = await login(d as unknown as TestDaemon);
    const dev = await newDevice(rest(d as unknown as TestDaemon, { authorization: `Bearer ${bearer}` }), { device_type: 'soak' });
    const json = { 'content-type': 'application/json' };
    const cce = (cmd: string) => ({ method: 'POST' as const, path: '/v2/cce', headers: json, body: JSON.stringify({ cmd, ...admin }) });
    const requests: autocannon.Request[] = [
      cce('PING'),
      cce(`GET ${target}`),
      cce(`SET ${target} description="soak"`),
      cce('FIND User site = "s3"'),
      { method: 'POST', path: `/api/devices/${dev.key}/online`, headers: { ...json, 'x-device-token': dev.token }, body: '{"ip_address":"10.9.8.7"}' },
    ];
    const peak = await run({ url: d.url, connections: args.connections, duration: 10, requests });
    const rate = Math.max(1, Math.round(peak.requests.average / 2));
    console.log(`soak: peak ${Math.round(peak.requests.average)} req/s (mixed PING/GET/SET/FIND/heartbeat, ${args.connections} connections, 10 s; ${peak.non2xx} non-2xx, ${peak.errors} errors); running ${minutes} min at ${rate} req/s`);
    const rss = sampleRss(d, 2000);
    const probe = startPingProbe(d.url, 100, 100);
    await probe.ready;
    const res = await run({ url: d.url, connections: args.connections, overallRate: rate, duration: Math.round(minutes * 60), requests, timeout: 10 });
    const ping = await probe.stop();
    const samples = rss.stop();
    const errors = res.errors + res.timeouts + res.non2xx;
    const early = samples[Math.floor(samples.length / 5)]!.rss;
    const end = samples.at(-1)!.rss;
    console.log(`soak: ${res.requests.total} requests, ${Math.round(res.requests.average)} req/s, p99 ${res.latency.p99} ms; errors ${res.errors}, timeouts ${res.timeouts}, non-2xx ${res.non2xx}`);
    console.log(`soak: PING p50 ${ping.p50} ms, p99 ${ping.p99} ms, max ${ping.max} ms`);
    console.log(`soak: RSS MiB by second: ${curve(samples)}`);
    console.log(`soak: RSS ${mib(early)} MiB after the first fifth, ${mib(end)} MiB at the end (bound: +${args['rss-growth-mib']} MiB)`);
    if (errors > 0) failures.push(`soak: ${errors} errors`);
    if (end - early > args['rss-growth-mib'] * MiB) failures.push(`soak: RSS grew by ${mib(end - early)} MiB`);
    if (!alive(d.pid)) failures.push('soak: the daemon died');
  } finally {
    c.close();
    await d.close();
  }
}

async function ceiling(seconds: number): Promise<void> {
  const d = await start({ CCED_API_ACCESS: '127.0.0.2', CCED_API_AUTH_FAILS: '100000000', NODE_OPTIONS: `--max-old-space-size=${args['ceiling-mib']}` });
  try {
    const { slow, queues, logins, ping, samples, maxRss: max } = await runCeiling(d, { seconds, slowConnections: 800, queueSessions: 4, loginParallel: 8 });
    console.log(`ceiling: slow bodies ${JSON.stringify(slow)}; BEGIN queues of ~1 MB SETs ${JSON.stringify(queues)}; LOGIN flood ${JSON.stringify(logins)}`);
    console.log(`ceiling: PING p50 ${ping.p50} ms, p99 ${ping.p99} ms, max ${ping.max} ms, failed ${ping.failed}`);
    console.log(`ceiling: RSS MiB by second: ${curve(samples)}; max ${mib(max)} MiB (ceiling ${args['ceiling-mib']} MiB)`);
    if (!alive(d.pid)) failures.push(`ceiling: the daemon died: ${d.stdout().split('\n').filter((l) => /heap|fatal|error/i.test(l)).slice(-3).join(' | ')}`);
    if (max > args['ceiling-mib'] * MiB) failures.push(`ceiling: RSS ${mib(max)} MiB over ${args['ceiling-mib']} MiB`);
  } finally {
    await d.kill();
  }
}

if (args.minutes > 0) await soak(args.minutes);
if (args['attack-seconds'] > 0) await ceiling(args['attack-seconds']);
for (const f of failures) console.log(`FAIL ${f}`);
console.log(failures.length ? `soak: ${failures.length} failures` : 'soak: no failure');
process.exit(failures.length ? 1 : 0);
