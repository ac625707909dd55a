/**
 * The Pantahub registry (seed 004) on one daemon, with the ratios to PING on
 * that same daemon measured in the same run (printed as notes; the table's
 * ratio column is to the bare handler, as for every section):
 * - anonymous self-registrations/s (POST /devices/ with a secret: one argon2id
 *   hash and one durable write each);
 * - device logins/s (POST /auth/login with the device's prn and secret: one
 *   argon2id verification each);
 * - GET /devices/{id} by its owner (a token look-up and one device read);
 * - GET /devices/ for an owner of 10,000 devices (p99: the whole list in one reply).
 * argon2 is bound to `password_hash_jobs` threads: 4 connections are enough.
 */
import autocannon from 'autocannon';
import { SYSTEM } from '../../src/store/store.js';
import { ARGON2_OPTIONS } from '../../src/auth/passwords.js';
import { DEVICE } from '../../src/devices/classes.js';
import { PANTAHUB_NS } from '../../src/devices/pantahub.js';
import { newDeviceKey, newTokenCode } from '../../src/devices/secrets.js';
import { newNick } from '../../src/devices/pantahub-words.js';
import { cpuSeconds, expectStatus, measuredOf, seedStore, type BenchDaemon, type BenchSection, type Measured } from './lib.js';

const OWNER = 'bench-owner';
const PASSWORD = 'bench-owner-password';
const FLEET = 10_000;
/** The whole-list case is counted in requests, not seconds: each takes hundreds of milliseconds. */
const LIST_REQUESTS = 30;

interface HttpCase {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * One Pantahub request case under autocannon (a warm-up first), in the table's terms: for
 * `duration` seconds, or for `amount` requests when given (a slow case gets enough samples for its p99).
 */
async function measureHttp(d: BenchDaemon, c: HttpCase, duration: number, connections: number, amount?: number): Promise<Measured> {
  const request = {
    method: c.method,
    headers: { ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}), ...c.headers },
    ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {}),
  };
  const base = { url: `${d.url}${c.path}`, connections, requests: [request] };
  await autocannon({ ...base, ...(amount === undefined ? { duration: 1 } : { amount: connections }) });
  const cpu0 = cpuSeconds(d.pid);
  const own0 = process.cpuUsage();
  const r = await autocannon({ ...base, ...(amount === undefined ? { duration } : { amount, timeout: 60 }) });
  return measuredOf(r, cpuSeconds(d.pid) - cpu0, process.cpuUsage(own0));
}

async function json(d: BenchDaemon, c: HttpCase): Promise<any> {
  const r = await fetch(`${d.url}${c.path}`, { method: c.method, headers: { 'content-type': 'application/json', ...c.headers }, ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {}) });
  if (r.status !== 200) throw new Error(`${c.method} ${c.path}: ${r.status} ${await r.text()}`);
  return r.json();
}

/** FLEET devices owned by OWNER, written straight into the store (no argon2: they never log in). */
async function seedFleet(d: BenchDaemon): Promise<void> {
  return await seedStore(d, async (store) => {
    const now = new Date().toISOString();
    for (let i = 0; i < FLEET; i++) {
      const key = await newDeviceKey(store);
      const oid = await store.create(SYSTEM, DEVICE, { device_key: key, token_code: newTokenCode() });
      await store.set(SYSTEM, oid, PANTAHUB_NS, { id: key.toLowerCase(), owner: OWNER, nick: `${newNick()}_${i}`, time_created: now, time_modified: now });
    }
  });
}

export const pantahub: BenchSection = {
  name: 'pantahub',
  async run(ctx) {
    // No registration bound in the way; durable writes as by default.
    const d = await ctx.startDaemon({ config: { pantahub_registrations_per_address: '1000000000' } });
    try {
      const s = await d.adminSession();
      await expectStatus(d, { cmd: `CREATE User name="${OWNER}" password="${PASSWORD}"`, user: s.user, sessionid: s.sessionid }, 201);
      const user = (await json(d, { method: 'POST', path: '/auth/login', body: { username: OWNER, password: PASSWORD } })).token as string;
      const auth = { authorization: `Bearer ${user}` };
      const device = await json(d, { method: 'POST', path: '/devices/', body: { secret: 'bench-device-secret' }, headers: auth });
      const duration = ctx.options.duration;

      const ping = await ctx.measure(d, { cmd: 'PING' });
      ctx.report('PING (same daemon)', ping, undefined, 'the ratios below are to this');
      const ratio = (m: Measured) => `${(m.rps / ping.rps).toFixed(3)}x PING on this daemon`;
      const argon2 = `argon2id m=${ARGON2_OPTIONS.memoryCost} KiB t=${ARGON2_OPTIONS.timeCost} p=${ARGON2_OPTIONS.parallelism}`;

      const reg = await measureHttp(d, { method: 'POST', path: '/devices/', body: { secret: 'bench-device-secret' } }, duration, 4);
      ctx.report('POST /devices/ (self-registration)', reg, undefined, `registrations/s; ${argon2} + a durable write each; ${ratio(reg)}`);

      const login = await measureHttp(d, { method: 'POST', path: '/auth/login', body: { username: `prn:::devices:/${device.id}`, password: 'bench-device-secret' } }, duration, 4);
      ctx.report('POST /auth/login (device)', login, undefined, `device logins/s; ${argon2} verify each; ${ratio(login)}`);

      const one = await measureHttp(d, { method: 'GET', path: `/devices/${device.id}`, headers: auth }, duration, 10);
      ctx.report('GET /devices/{id} (owner)', one, undefined, ratio(one));

      const seeded = performance.now();
      await seedFleet(d);
      ctx.note(`${FLEET} devices of one owner seeded in ${Math.round(performance.now() - seeded)} ms`);
      const size = JSON.stringify(await json(d, { method: 'GET', path: '/devices/', headers: auth })).length;
      const list = await measureHttp(d, { method: 'GET', path: '/devices/', headers: auth }, duration, 2, LIST_REQUESTS);
      ctx.report(`GET /devices/ (${FLEET + 1} devices)`, list, undefined, `p99 ${list.p99} ms of ${LIST_REQUESTS} requests; ${(size / 1048576).toFixed(1)} MiB a reply; ${ratio(list)}`);
      ctx.note(`self-registrations ${reg.rps.toFixed(1)}/s, device logins ${login.rps.toFixed(1)}/s (${argon2}, password_hash_jobs bound), GET /devices/ of ${FLEET + 1} devices p99 ${list.p99} ms; PING ${ping.rps.toFixed(0)} req/s on the same daemon`);
    } finally {
      await d.close();
    }
  },
};
