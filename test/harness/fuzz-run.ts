/**
 * The fuzz loop and its oracles. Cases run one at a time (so a change of the
 * store belongs to exactly one request) against a live daemon:
 * - no 5xx, except the documented ones that are not a client's mistake
 *   (writes suspended by an admin's SUSPEND, no free tunnel port, 501 for a
 *   path the document does not expose), and every 5xx has a JSON body;
 * - every request is answered, and the daemon is still running afterwards;
 * - a refused request (HTTP 4xx/5xx) leaves every row of the store as it was.
 * Timing is not judged here: the fuzz script measures PING beside it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { cscpEnvelope, oddBody, regexEnvelope, structuredEnvelope, writeEnvelope } from './gen-cce.js';
import { restCase, type RestCase } from './gen-rest.js';
import type { RouteDef } from './routes.js';
import { watchStore, type StoreDiff } from './store-digest.js';
import type { Answer, Sent } from './http-client.js';
import { vocabulary, type Identity } from './vocabulary.js';
import type { World } from './world.js';

export type Case =
  | { kind: 'envelope' | 'cscp' | 'write' | 'regex'; as: Identity; envelope: Record<string, unknown> }
  | ({ kind: 'rest' } & RestCase)
  | { kind: 'odd'; body: string; contentType: string };

export interface Finding {
  what: 'server-error' | 'no-answer' | 'crash' | 'store-changed';
  case: Case;
  sent: Sent;
  answer: Answer;
  diff?: StoreDiff;
  /** The daemon's error lines logged since the case before (a 5xx's cause). */
  errors?: string[];
}

export interface FuzzStats {
  cases: number;
  byKind: Record<string, number>;
  /** Milliseconds spent waiting for the daemon, per kind of case. */
  msByKind: Record<string, number>;
  statuses: Record<string, number>;
  refused: number;
  /** The slowest answers (a harness may judge them; the tests do not). */
  slowest: { ms: number; case: Case }[];
  storeReads: number;
  findings: Finding[];
  ms: number;
}

export interface FuzzOptions {
  world: World;
  routes: readonly RouteDef[];
  cases: number;
  seed: number;
  /** Stop starting cases after this long (the CI share is bounded in time as well as in count). */
  budgetMs?: number;
  /** Stop after this many findings (default 20): one bug tends to repeat. */
  maxFindings?: number;
  progress?: (done: number, stats: FuzzStats) => void;
  /** Told of every answer slower than 500 ms. */
  slow?: (ms: number, c: Case) => void;
}

const IDENTITIES: Identity[] = ['admin', 'admin', 'user', 'user', 'anonymous', 'forged'];
const CHUNK = 500;

export function caseArbitrary(world: World, routes: readonly RouteDef[]): fc.Arbitrary<Case> {
  const v = vocabulary(world);
  const cce = (kind: 'envelope' | 'cscp' | 'write', make: typeof structuredEnvelope) =>
    fc.constantFrom(...IDENTITIES).chain((as) => make(v, as).map((envelope) => ({ kind, as, envelope }) as Case));
  return fc.oneof(
    { weight: 24, arbitrary: cce('envelope', structuredEnvelope) },
    { weight: 24, arbitrary: cce('cscp', cscpEnvelope) },
    { weight: 16, arbitrary: cce('write', writeEnvelope) },
    { weight: 24, arbitrary: restCase(v, routes).map((r) => ({ kind: 'rest', ...r }) as Case) },
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...IDENTITIES), regexEnvelope(v)).map(([as, envelope]) => ({ kind: 'regex', as, envelope }) as Case) },
    { weight: 4, arbitrary: oddBody.map((b) => ({ kind: 'odd', ...b }) as Case) },
  );
}

/** The HTTP request of a case, with the world's credentials for its identity. */
export function toRequest(c: Case, w: World): Sent {
  if (c.kind === 'odd') return { method: 'POST', path: '/v2/cce', headers: c.contentType ? { 'content-type': c.contentType } : {}, body: c.body };
  if (c.kind === 'rest') {
    const headers: Record<string, string> = {};
    if (c.contentType) headers['content-type'] = c.contentType;
    if (c.as === 'admin') headers.authorization = `Bearer ${w.bearer.admin}`;
    if (c.as === 'user') headers.authorization = `Bearer ${w.bearer.user}`;
    if (c.as === 'device') Object.assign(headers, { 'x-device-token': w.device.token, 'x-device-key': w.device.key });
    if (c.as === 'ssh') headers['x-meeting-ssh-token'] = w.sshToken;
    if (c.as === 'pantahub') headers.authorization = `Bearer ${w.pantahub.token}`;
    if (c.as === 'forged') Object.assign(headers, { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'x-device-token': '000000', 'pantahub-devices-auto-token-v1': 'A'.repeat(43) });
    return { method: c.method, path: c.path, headers, ...(c.body !== undefined ? { body: c.body } : {}) };
  }
  const e: Record<string, unknown> = { ...c.envelope };
  if (c.as === 'admin' || c.as === 'user') {
    delete e.token;
    Object.assign(e, w[c.as]);
  } else if (c.as === 'anonymous') {
    delete e.user;
    delete e.sessionid;
    delete e.token;
  }
  return { method: 'POST', path: '/v2/cce', headers: { 'content-type': 'application/json' }, body: JSON.stringify(e) };
}

/** 5xx replies docs/errors.md documents for conditions that are not the client's mistake. */
export function documented5xx(a: Answer): boolean {
  const j = a.json;
  if (a.status === 503 && j?.data?.errors?.[0]?.code === 309) return true;
  if (a.status === 503 && ['Writes are suspended', 'No free tunnel port'].includes(j?.error)) return true;
  return a.status === 501 && j?.error === 'Not implemented';
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function verbOf(c: Case): string {
  if (c.kind === 'rest') return '';
  // An odd body that is JSON after all is an envelope the daemon ran (a SUSPEND among them).
  const cmd = c.kind === 'odd' ? oddCommand(c.body) : c.envelope.cmd;
  // The verb as the lexer reads it: its letters, whatever follows ("Suspend== 7 99" is a SUSPEND).
  return (/^[a-z]+/i.exec(String(cmd ?? '').trim())?.[0] ?? '').toUpperCase();
}

function oddCommand(body: string): unknown {
  try {
    return (JSON.parse(body) as { cmd?: unknown } | null)?.cmd;
  } catch {
    return undefined;
  }
}

/** Keeps the world usable: RESUME after a SUSPEND, log in again after ENDKEY, a logout or a changed user. */
async function tidy(w: World, c: Case, a: Answer, n: number): Promise<void> {
  const verb = verbOf(c);
  if (verb === 'SUSPEND' && a.status === 200) {
    // The fuzz's admin session may have ended meanwhile (a BYE, an ENDKEY in the same envelope): then a new one.
    if ((await w.client.cce({ cmd: 'RESUME', ...w.admin })).status !== 200) {
      await w.relogin('admin');
      await w.client.cce({ cmd: 'RESUME', ...w.admin });
    }
  }
  const periodic = n % 100 === 0;
  if (periodic || verb === 'ENDKEY' || verb === 'BYE' || (c.kind === 'rest' && (c.path.includes('logout') || c.path.includes('auth/login')))) {
    for (const who of ['admin', 'user'] as const) {
      const s = await w.client.cce({ cmd: 'WHOAMI', ...w[who] });
      const b = await w.client.send({ method: 'GET', path: '/api/auth/me', headers: { authorization: `Bearer ${w.bearer[who]}` } });
      if (s.json?.data?.oid === '-1' || s.status !== 200 || b.status !== 200) await w.relogin(who);
    }
    // GET /auth/login swaps the Pantahub token for a new one the fuzz never saw.
    const p = await w.client.send({ method: 'GET', path: '/devices/', headers: { authorization: `Bearer ${w.pantahub.token}` } });
    if (p.status !== 200) await w.relogin('user');
  }
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzStats> {
  const { world: w } = o;
  const watch = await watchStore(w.d.stateDir);
  const arb = caseArbitrary(w, o.routes);
  const stats: FuzzStats = { cases: 0, byKind: {}, msByKind: {}, statuses: {}, refused: 0, slowest: [], storeReads: 0, findings: [], ms: 0 };
  const started = Date.now();
  const maxFindings = o.maxFindings ?? 20;
  let logSeen = w.d.stdout().length;
  try {
    const inTime = () => o.budgetMs === undefined || Date.now() - started < o.budgetMs;
    for (let chunk = 0; stats.cases < o.cases && stats.findings.length < maxFindings && inTime(); chunk++) {
      const batch = fc.sample(arb, { seed: o.seed + chunk, numRuns: Math.min(CHUNK, o.cases - stats.cases) });
      for (const c of batch) {
        if (!inTime()) break;
        stats.cases++;
        stats.byKind[c.kind] = (stats.byKind[c.kind] ?? 0) + 1;
        const sent = toRequest(c, w);
        await watch.ready();
        const a = await w.client.send(sent);
        stats.msByKind[c.kind] = (stats.msByKind[c.kind] ?? 0) + Math.round(a.ms);
        if (a.ms > 500) {
          stats.slowest.push({ ms: Math.round(a.ms), case: c });
          stats.slowest.sort((x, y) => y.ms - x.ms).splice(5);
          o.slow?.(a.ms, c);
        }
        if (a.status === -1) continue; // node would not send it (a control character in the path): nothing to judge
        stats.statuses[a.error ?? a.status] = (stats.statuses[a.error ?? a.status] ?? 0) + 1;
        if (a.error !== undefined) {
          const what = alive(w.d.pid) ? 'no-answer' : 'crash';
          // A daemon that dies or stops answering ends the run: the next requests would only repeat it.
          stats.findings.push({ what, case: c, sent, answer: a });
          return stats;
        }
        if (a.status >= 500 && (!documented5xx(a) || a.json === undefined)) {
          // The daemon writes its lines when the turn that answered ends, and they come through a pipe.
          await sleep(100);
          const log = w.d.stdout();
          // The kept log is trimmed from its start past 16 MiB: then all of it.
          stats.findings.push({ what: 'server-error', case: c, sent, answer: a, errors: errorLines(log.length >= logSeen ? log.slice(logSeen) : log) });
        }
        logSeen = w.d.stdout().length;
        const refused = a.status >= 400;
        if (refused) stats.refused++;
        const diff = await watch.check(refused);
        if (diff) stats.findings.push({ what: 'store-changed', case: c, sent, answer: a, diff });
        await tidy(w, c, a, stats.cases);
        if (stats.cases % 500 === 0) o.progress?.(stats.cases, stats);
      }
    }
    return stats;
  } finally {
    stats.storeReads = watch.digests;
    stats.ms = Date.now() - started;
    await watch.close();
  }
}

/** A finding as a reproducer: the request as curl sends it (credentials named, not shown), and what came back. */
export function describeFinding(f: Finding): string {
  const s = f.sent;
  const headers = Object.entries(s.headers ?? {}).map(([k, v]) => `-H '${k}: ${/authorization|token/i.test(k) ? `<${k}>` : v}'`).join(' ');
  const body = s.body === undefined ? '' : ` --data-binary ${JSON.stringify(String(s.body).slice(0, 2000))}`;
  return [
    `${f.what}: ${'as' in f.case ? `as ${f.case.as}, ` : ''}${f.case.kind}`,
    `  curl -X ${s.method} 'http://127.0.0.1:PORT${s.path}' ${headers}${body}`,
    `  -> ${f.answer.error ?? f.answer.status} ${f.answer.text.slice(0, 400)}`,
    ...(f.diff ? [`  store changed: ${JSON.stringify(f.diff).slice(0, 1500)}`] : []),
    ...(f.errors ?? []).map((l) => `  daemon: ${l.slice(0, 600)}`),
  ].join('\n');
}

/** The daemon's log lines at level error or above (pino: 50, 60). */
function errorLines(log: string): string[] {
  return log.split('\n').filter((l) => /"level":(50|60)\b/.test(l)).slice(-3);
}
