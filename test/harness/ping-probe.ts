/**
 * PING, every `everyMs`, from a process of its own (so neither the fuzz's
 * generators nor its store reads delay the measurement): how long the daemon
 * takes to answer while it is under attack. stop() returns the figures.
 */
import { spawn } from 'node:child_process';

export interface PingFigures {
  count: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers slower than the bound (and failures). */
  over: number;
  boundMs: number;
}

const PROBE = `
const http = require('node:http');
const [url, everyMs, boundMs] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const times = []; let failed = 0;
const body = '{"cmd":"PING"}';
function once() {
  const t0 = performance.now();
  const req = http.request(url + '/v2/cce', { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length }, timeout: 30000 }, (res) => {
    res.resume();
    res.on('end', () => { if (times.push(performance.now() - t0) === 1) process.stdout.write('ready\\n'); setTimeout(once, Number(everyMs)); });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => { failed++; times.push(performance.now() - t0); setTimeout(once, Number(everyMs)); });
  req.end(body);
}
once();
process.stdin.on('data', () => {});
process.stdin.on('end', () => {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 10) / 10 : 0;
  process.stdout.write(JSON.stringify({ count: s.length, failed, p50: q(0.5), p99: q(0.99), max: q(1), over: s.filter((x) => x > Number(boundMs)).length + failed, boundMs: Number(boundMs) }));
  process.exit(0);
});
`;

/**
 * `ready` resolves once the probe's connection is open and has had its first
 * answer (or the probe is gone): an attack started after it is measured on an
 * established client's connection, not on the probe's own first connect.
 */
export function startPingProbe(url: string, everyMs = 20, boundMs = 100): { ready: Promise<void>; stop(): Promise<PingFigures> } {
  const child = spawn(process.execPath, ['-e', PROBE, url, String(everyMs), String(boundMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let markReady: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (c) => {
    out += c;
    if (out.startsWith('ready\n')) markReady();
  });
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void done.then(() => markReady());
  return {
    ready,
    async stop() {
      child.stdin.end();
      await done;
      return JSON.parse(out.replace(/^ready\n/, '')) as PingFigures;
    },
  };
}
