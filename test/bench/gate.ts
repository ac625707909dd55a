/**
 * Issue 3's performance cases, measured like core's (the daemon a child
 * process, autocannon here, each case between two half-length runs of the
 * bare handler):
 * - GET 1 authenticated by token + X-Client-Secret from a whitelisted address
 *   (target >= 0.7 of the bare handler: a token check is two SHA-256 digests
 *   and a map look-up, no argon2); the same GET with a local session beside it;
 * - AUTH per second: argon2id verification with the OWASP parameters
 *   (m = 19456 KiB, t = 2, p = 1), low by design.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAccessFile } from '../../src/auth/access-file.js';
import { ARGON2_OPTIONS } from '../../src/auth/passwords.js';
import { BENCH_ADMIN_PASSWORD, expectStatus, load, type BenchSection } from './lib.js';

/** The address autocannon connects from, made a whitelisted remote one. */
const REMOTE = '127.0.0.1';

export const gate: BenchSection = {
  name: 'gate',
  async run(ctx) {
    // Only ::1 is local, so 127.0.0.1 takes the remote path: LOGIN, then token + client secret.
    const remote = await ctx.startDaemon({ config: { local_addresses: '::1', api_access: REMOTE } });
    try {
      const secret = parseAccessFile(readFileSync(path.join(remote.stateDir, 'access'), 'utf8')).get(REMOTE)!;
      const headers = { 'x-client-secret': secret };
      const login = await expectStatus(remote, { cmd: 'LOGIN' }, 201, headers);
      const get = { cmd: 'GET 1', token: String(login.data!.token) };
      await expectStatus(remote, get, 201, headers);
      ctx.report('GET 1 (token + client secret)', await ctx.measure(remote, get, { headers }), 0.7, 'System object, from a whitelisted address');
    } finally {
      await remote.close();
    }

    const local = await ctx.startDaemon();
    try {
      const s = await local.adminSession();
      const get = { cmd: 'GET 1', user: s.user, sessionid: s.sessionid };
      await expectStatus(local, get, 201);
      ctx.report('GET 1 (session)', await ctx.measure(local, get), undefined, 'for comparison');
      // argon2 runs on libuv's 4 threads: more connections would only queue. No ratio: the work is the hash.
      const auth = { cmd: 'AUTH', user: 'admin', password: BENCH_ADMIN_PASSWORD };
      await expectStatus(local, auth, 201);
      const m = await load(local, auth, { duration: ctx.options.duration, warmup: 1, connections: 4, pipelining: 1 });
      const argon2 = `argon2id m=${ARGON2_OPTIONS.memoryCost} KiB t=${ARGON2_OPTIONS.timeCost} p=${ARGON2_OPTIONS.parallelism}`;
      ctx.report('AUTH (argon2id)', { ...m, pairedBaseline: NaN }, undefined, `${argon2} (OWASP): low by design`);
    } finally {
      await local.close();
    }
  },
};
