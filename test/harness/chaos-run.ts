/**
 * kill -9 loops over every write path. Each round starts the daemon (its own
 * process, synchronous=FULL as shipped) on the same state dir, runs writers on
 * every path at once — SET, CREATE, BEGIN + COMMIT, Meeting heartbeats,
 * firmware uploads, Pantahub self-registrations and claims — kills it with
 * SIGKILL at a random moment, and checks:
 * - the SQLite file passes `PRAGMA integrity_check`;
 * - every acknowledged write is there: a SET's value (or a later one sent),
 *   a CREATE's object, a COMMIT's whole batch, a heartbeat's ip_address (or
 *   a later one), an upload's file with its sha256 and its name in
 *   Distribution.files, a registered Pantahub device, a claimed one owned with
 *   its challenge spent;
 * - no COMMIT is partly there, no file under its final name is anything but
 *   one of the versions sent.
 * The daemon is the one of test/helpers/child-daemon.ts (as tx-crash and
 * durability use); the state is read from the SQLite file read-only.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { spawnDaemon, type ChildDaemon } from '../helpers/child-daemon.js';
import { ADMIN_PASSWORD, type TestDaemon } from '../helpers/daemon.js';
import { login, newDevice, rest } from '../helpers/meeting.js';
import { sendMultipart } from '../helpers/multipart.js';
import { HarnessClient } from './http-client.js';
import { integrityCheck } from './store-digest.js';
import { reapOnExit } from './reaper.js';

const repoRoot = packageRoot();
/** As tx-crash: the shipped schema plus the test fixture class TxItem (COMMIT batches are TxItems). */
export const CHAOS_ENV = {
  CCED_DB_SYNCHRONOUS: 'FULL',
  CCED_SCHEMA_DIR: `${path.join(repoRoot, 'schema')},${path.join(repoRoot, 'test', 'fixtures', 'schema')}`,
  // Every self-registration of the harness comes from 127.0.0.1.
  CCED_PANTAHUB_REGISTRATIONS_PER_ADDRESS: '1000000000',
};
const SET_TARGETS = 4;
const BATCH = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ChaosStats {
  rounds: number;
  /** Acknowledged writes per path, over all rounds. */
  acked: Record<'set' | 'create' | 'commit' | 'heartbeat' | 'upload' | 'register' | 'claim', number>;
  /** What an acknowledged write lost, a partial COMMIT, a bad file, a failed integrity check. */
  problems: string[];
  integrity: string[];
  restartMs: number[];
  killedAfterMs: number[];
}

interface Ledger {
  setOids: string[];
  /** Per SET target: the last value sent and the last acknowledged (counters; -1 none). */
  setSent: number[];
  setAcked: number[];
  created: Map<string, string>;
  batchesSent: Set<string>;
  batchesAcked: Set<string>;
  device: { key: string; token: string; oid: string };
  beatSent: number;
  beatAcked: number;
  /** file name -> sha256 of every version sent, and the acknowledged one. */
  uploadsSent: Map<string, Set<string>>;
  uploadsAcked: Map<string, string>;
  /** Pantahub device ids whose registration, and whose claim by admin, was acknowledged. */
  registered: Set<string>;
  claimed: Set<string>;
}

const ipOf = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
const counterOf = (ip: string) => ip.split('.').slice(1).reduce((n, x) => n * 256 + Number(x), 0);
const contentOf = (name: string, version: number) => Buffer.alloc(16 * 1024 + (version % 7) * 4096, `${name}:${version}:`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function setUp(d: ChildDaemon, c: HarnessClient): Promise<Ledger> {
  const auth = await c.cce({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD });
  const cred = { user: 'admin', sessionid: auth.json.data.sessionid };
  const oid = async (cmd: string) => {
    const r = await c.cce({ cmd, ...cred });
    if (r.status !== 200) throw new Error(`chaos set-up: ${cmd}: ${r.text}`);
    return String(r.json.data.oid);
  };
  const setOids: string[] = [];
  for (let i = 0; i < SET_TARGETS; i++) setOids.push(await oid(`CREATE User name="chaos-set-${i}" description="-1"`));
  await oid('CREATE DeviceType name="chaos"');
  await oid('CREATE Distribution name="prod" device_type="chaos"');
  const bearer = await login(d as unknown as TestDaemon);
  const dev = await newDevice(rest(d as unknown as TestDaemon, { authorization: `Bearer ${bearer}` }), { device_type: 'chaos', distribution: 'prod' });
  const found = await c.cce({ cmd: 'FINDX', class: 'Device', args: { device_key: dev.key }, ...cred });
  return {
    setOids,
    setSent: setOids.map(() => -1),
    setAcked: setOids.map(() => -1),
    created: new Map(),
    batchesSent: new Set(),
    batchesAcked: new Set(),
    device: { key: dev.key, token: dev.token, oid: String(found.json.data.oidlist[0]) },
    beatSent: 0,
    beatAcked: 0,
    uploadsSent: new Map(),
    uploadsAcked: new Map(),
    registered: new Set(),
    claimed: new Set(),
  };
}

interface Credentials {
  cred: { user: string; sessionid: string };
  /** A session of its own for the BEGIN queue, so no other writer's write joins it. */
  tx: { user: string; sessionid: string };
  bearer: string;
  /** admin's Pantahub token (claims). */
  pantahub: string;
}

async function credentials(d: ChildDaemon, c: HarnessClient): Promise<Credentials> {
  const session = async () => ({ user: 'admin', sessionid: (await c.cce({ cmd: 'AUTH', user: 'admin', password: ADMIN_PASSWORD })).json.data.sessionid as string });
  const pantahub = await c.send({ method: 'POST', path: '/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
  return { cred: await session(), tx: await session(), bearer: await login(d as unknown as TestDaemon), pantahub: pantahub.json.token as string };
}

/** Every writer, looping until `stop` says so (then its requests fail and it ends). */
async function writeUntilKilled(d: ChildDaemon, c: HarnessClient, l: Ledger, round: number, { cred, tx: own, bearer, pantahub }: Credentials, stop: () => boolean): Promise<void> {
  const loop = async (step: (n: number) => Promise<void>) => {
    for (let n = 0; !stop(); n++) await step(n).catch(() => undefined);
  };
  const setter = (i: number) => loop(async () => {
    const v = ++l.setSent[i]!;
    const r = await c.cce({ cmd: `SET ${l.setOids[i]} description="${v}"`, ...cred });
    if (r.status === 200) l.setAcked[i] = Math.max(l.setAcked[i]!, v);
  });
  const creator = loop(async (n) => {
    const name = `chaos-r${round}-n${n}`;
    const r = await c.cce({ cmd: `CREATE User name="${name}"`, ...cred });
    if (r.status === 200) l.created.set(String(r.json.data.oid), name);
  });
  const committer = loop(async (n) => {
    const tag = round * 10_000 + n;
    await c.cce({ cmd: 'BEGIN', ...own });
    for (let i = 0; i < BATCH; i++) await c.cce({ cmd: `CREATE TxItem round="${tag}" seq="${i}"`, ...own });
    l.batchesSent.add(String(tag));
    const r = await c.cce({ cmd: 'COMMIT', ...own });
    if (r.status === 200 && r.json.status === 201) l.batchesAcked.add(String(tag));
  });
  const beater = loop(async () => {
    const n = ++l.beatSent;
    const r = await c.send({ method: 'POST', path: `/api/devices/${l.device.key}/online`, headers: { 'content-type': 'application/json', 'x-device-token': l.device.token }, body: JSON.stringify({ ip_address: ipOf(n) }) });
    if (r.status === 200) l.beatAcked = Math.max(l.beatAcked, n);
  });
  const uploader = loop(async (n) => {
    const name = `fw${n % 5}.bin`;
    const version = round * 10_000 + n;
    const content = contentOf(name, version);
    if (!l.uploadsSent.has(name)) l.uploadsSent.set(name, new Set());
    l.uploadsSent.get(name)!.add(sha(content));
    const r = await sendMultipart(`${d.url}/api/flash/upload`, [
      { name: 'devicetype', value: 'chaos' },
      { name: 'distribution', value: 'prod' },
      { name: 'file', filename: name, content, size: content.length },
    ], { headers: { authorization: `Bearer ${bearer}` } });
    if (r !== 'cut' && r.status === 200) l.uploadsAcked.set(name, sha(content));
  });
  const claimer = loop(async () => {
    const json = { 'content-type': 'application/json' };
    const reg = await c.send({ method: 'POST', path: '/devices/', headers: json, body: JSON.stringify({ secret: 'chaos-device-secret' }) });
    if (reg.status !== 200) return;
    const { id, challenge } = reg.json as { id: string; challenge: string };
    l.registered.add(id);
    const claim = await c.send({ method: 'PUT', path: `/devices/${id}?challenge=${encodeURIComponent(challenge)}`, headers: { authorization: `Bearer ${pantahub}` } });
    if (claim.status === 200) l.claimed.add(id);
  });
  await Promise.all([...l.setOids.map((_, i) => setter(i)), creator, committer, beater, uploader, claimer]);
}

/** What the state dir holds after a restart, against the ledger. */
function verify(stateDir: string, l: Ledger, stats: ChaosStats, round: number): void {
  const problem = (s: string) => stats.problems.push(`round ${round}: ${s}`);
  const db = new Database(path.join(stateDir, 'cced.db'), { readonly: true, fileMustExist: true });
  try {
    const prop = db.prepare("SELECT value FROM props WHERE oid = ? AND ns = '' AND name = ?").pluck();
    l.setOids.forEach((oid, i) => {
      const v = Number(prop.get(oid, 'description'));
      if (v < l.setAcked[i]! || v > l.setSent[i]!) problem(`SET ${oid}: description ${v}, acknowledged ${l.setAcked[i]}, last sent ${l.setSent[i]}`);
    });
    for (const [oid, name] of l.created) if (prop.get(oid, 'name') !== name) problem(`CREATE ${name}: acknowledged as oid ${oid}, not there`);
    const counts = new Map((db.prepare("SELECT value, count(*) AS n FROM props WHERE class = 'TxItem' AND name = 'round' GROUP BY value").all() as { value: string; n: number }[]).map((r) => [r.value, r.n]));
    for (const [tag, n] of counts) if (n !== BATCH || !l.batchesSent.has(tag)) problem(`COMMIT ${tag}: ${n} of ${BATCH} objects${l.batchesSent.has(tag) ? '' : ', never committed'}`);
    for (const tag of l.batchesAcked) if (counts.get(tag) !== BATCH) problem(`COMMIT ${tag}: acknowledged, ${counts.get(tag) ?? 0} of ${BATCH} objects there`);
    // A Device's heartbeat values live in their narrow table (src/store/sqlite/hot.ts).
    const ip = db.prepare('SELECT ip_address FROM device_beats WHERE oid = ?').pluck().get(l.device.oid) as string | null | undefined;
    const beat = ip ? counterOf(ip) : 0;
    if (beat < l.beatAcked || beat > l.beatSent) problem(`heartbeat: ip ${ip} (#${beat}), acknowledged #${l.beatAcked}, last sent #${l.beatSent}`);
    const dir = path.join(stateDir, 'flash', 'chaos', 'prod');
    const listed = String(db.prepare("SELECT p.value FROM props p JOIN props n ON n.oid = p.oid AND n.name = 'name' AND n.value = 'prod' WHERE p.class = 'Distribution' AND p.name = 'files'").pluck().get() ?? '');
    for (const [name, hash] of l.uploadsAcked) {
      const file = path.join(dir, name);
      if (!existsSync(file)) { problem(`upload ${name}: acknowledged, no file`); continue; }
      const got = sha(readFileSync(file));
      if (got !== hash && !l.uploadsSent.get(name)!.has(got)) problem(`upload ${name}: content is no version sent`);
      if (!listed.includes(`&${name}&`) && listed !== name) problem(`upload ${name}: acknowledged, missing from Distribution.files (${listed})`);
    }
    const pantahub = db.prepare("SELECT name, value FROM props WHERE ns = 'Pantahub' AND oid = (SELECT oid FROM props WHERE ns = 'Pantahub' AND name = 'id' AND value = ?)").raw();
    for (const id of l.registered) {
      const v = Object.fromEntries(pantahub.all(id) as [string, string][]);
      if (v.id !== id) { problem(`Pantahub registration ${id}: acknowledged, no device`); continue; }
      if (l.claimed.has(id) && (v.owner !== 'admin' || v.challenge !== '')) problem(`Pantahub claim ${id}: acknowledged, owner ${JSON.stringify(v.owner)} challenge ${JSON.stringify(v.challenge)}`);
      if (v.owner === '' && v.challenge === '') problem(`Pantahub device ${id}: neither owned nor claimable (a partial claim)`);
    }
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (name.startsWith('.')) continue;
      if (!l.uploadsSent.get(name)?.has(sha(readFileSync(path.join(dir, name))))) problem(`file ${name}: content is no version sent (a partial file)`);
    }
  } finally {
    db.close();
  }
}

export interface ChaosOptions {
  stateDir: string;
  rounds: number;
  /** Stop starting rounds after this long. */
  budgetMs?: number;
  /** Kill between these many ms after the writers start. */
  killAfterMs?: [number, number];
  progress?: (round: number, stats: ChaosStats) => void;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosStats> {
  const stats: ChaosStats = { rounds: 0, acked: { set: 0, create: 0, commit: 0, heartbeat: 0, upload: 0, register: 0, claim: 0 }, problems: [], integrity: [], restartMs: [], killedAfterMs: [] };
  const [minKill, maxKill] = o.killAfterMs ?? [600, 2000];
  const start = async () => {
    const child = await spawnDaemon(CHAOS_ENV, { stateDir: o.stateDir });
    reapOnExit(child.pid);
    return child;
  };
  let d = await start();
  let c = new HarnessClient(d.url, 5000, 64);
  const l = await setUp(d, c);
  // The budget counts from here (a slow first start must not eat it), and never cuts below two rounds.
  const started = Date.now();
  const more = (round: number) => round <= Math.min(2, o.rounds) || Date.now() - started < (o.budgetMs ?? Infinity);
  try {
    for (let round = 1; round <= o.rounds && more(round); round++) {
      let stopped = false;
      const creds = await credentials(d, c);
      const writers = writeUntilKilled(d, c, l, round, creds, () => stopped);
      const after = minKill + Math.random() * (maxKill - minKill);
      await sleep(after);
      stats.killedAfterMs.push(Math.round(after));
      await d.kill();
      stopped = true;
      await writers;
      c.close();
      const integrity = integrityCheck(path.join(o.stateDir, 'cced.db'));
      if (integrity !== 'ok') stats.integrity.push(`round ${round} (before restart): ${integrity}`);
      const t0 = Date.now();
      d = await start();
      stats.restartMs.push(Date.now() - t0);
      c = new HarnessClient(d.url, 5000, 64);
      const after2 = integrityCheck(path.join(o.stateDir, 'cced.db'));
      if (after2 !== 'ok') stats.integrity.push(`round ${round} (after restart): ${after2}`);
      verify(o.stateDir, l, stats, round);
      stats.rounds = round;
      o.progress?.(round, stats);
    }
  } finally {
    c.close();
    await d.kill();
  }
  stats.acked = { set: l.setAcked.reduce((a, b) => a + Math.max(b, 0), 0), create: l.created.size, commit: l.batchesAcked.size, heartbeat: l.beatAcked, upload: l.uploadsAcked.size, register: l.registered.size, claim: l.claimed.size };
  return stats;
}
