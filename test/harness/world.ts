/**
 * The world the fuzz runs in: a real daemon in a child process on loopback,
 * and the identities that attack it — a sysadmin and an ordinary user (each
 * with a /v2/cce session and a Meeting bearer token), a registered device with
 * its token, the SSH API token — plus the objects they may aim at.
 *
 * The admin's writes are kept off the objects the harness itself stands on
 * (`protectedOids`: System, the users it logs in as, api-admin) so a lucky
 * `DESTROY` cannot end the run; everything else is fair game.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnDaemon, type ChildDaemon } from '../helpers/child-daemon.js';
import { ADMIN_PASSWORD, type TestDaemon } from '../helpers/daemon.js';
import { login, newDevice, rest } from '../helpers/meeting.js';
import { call as pantahubCall, login as pantahubLogin } from '../helpers/pantahub.js';
import { HarnessClient } from './http-client.js';
import { reapOnExit } from './reaper.js';

export const FUZZ_ADMIN = 'fuzzadmin';
export const FUZZ_USER = 'fuzzuser';
const PASSWORD = 'fuzz-harness-password-1';

export interface Creds {
  user: string;
  sessionid: string;
}

export interface World {
  d: ChildDaemon;
  client: HarnessClient;
  admin: Creds;
  user: Creds;
  bearer: { admin: string; user: string };
  device: { key: string; token: string };
  /** The fuzz user's Pantahub token (POST /auth/login) and a Pantahub device it owns. */
  pantahub: { token: string; deviceId: string };
  sshToken: string;
  /** oids the admin identity must not write to (the harness stands on them). */
  protectedOids: Set<string>;
  /** Known-bad patterns and the long values they backtrack on are part of the fuzz. */
  heavy: boolean;
  /** oids of objects set up for the fuzz to aim at. */
  targets: string[];
  /** Logs the identities in again (after an ENDKEY, a logout, a password change). */
  relogin(which?: 'admin' | 'user' | 'all'): Promise<void>;
  close(): Promise<void>;
}

/** The daemon's settings for a fuzz: no ban can stop the run (it fails AUTH on purpose), fast commits. */
export const FUZZ_ENV: Record<string, string> = {
  CCED_API_AUTH_FAILS: '100000000',
  CCED_DB_SYNCHRONOUS: 'NORMAL',
};

async function ok(c: HarnessClient, envelope: Record<string, unknown>): Promise<any> {
  const r = await c.cce(envelope);
  if (r.status !== 200) throw new Error(`world set-up: ${JSON.stringify(envelope).slice(0, 200)} answered ${r.status} ${r.text.slice(0, 300)}`);
  return r.json;
}

async function session(c: HarnessClient, user: string, password: string): Promise<Creds> {
  const r = await ok(c, { cmd: 'AUTH', user, password });
  return { user, sessionid: r.data.sessionid as string };
}

export async function startWorld({ env = {}, heavy = true }: { env?: Record<string, string>; heavy?: boolean } = {}): Promise<World> {
  const d = await spawnDaemon({ ...FUZZ_ENV, ...env });
  const unreap = reapOnExit(d.pid);
  const client = new HarnessClient(d.url);
  try {
    const root = await session(client, 'admin', ADMIN_PASSWORD);
    const oidOf = async (cmd: string) => String((await ok(client, { cmd, ...root })).data.oid);
    const fuzzAdmin = await oidOf(`CREATE User name="${FUZZ_ADMIN}" systemAdministrator="1" password="${PASSWORD}"`);
    const fuzzUser = await oidOf(`CREATE User name="${FUZZ_USER}" password="${PASSWORD}" fullName="Fuzz User"`);
    // Targets with long values, so that a pattern that backtracks has something to chew on.
    const targets = [
      await oidOf(`CREATE User name="victim" fullName="${heavy ? `${'a'.repeat(48)}!` : 'aaa!'}" password="${PASSWORD}x" description="${'ab'.repeat(heavy ? 40 : 3)}"`),
      await oidOf('CREATE User name="bystander" fullName="Plain Name"'),
      await oidOf('CREATE DeviceType name="rpi4" serial_prefix="RPI4"'),
      await oidOf('CREATE DeviceType name="esp32"'),
      await oidOf('CREATE Distribution name="prod" device_type="rpi4"'),
    ];
    const found = await ok(client, { cmd: 'FINDX', class: 'User', args: {}, ...root });
    const users = (await ok(client, { cmd: 'GETALL', oids: found.data.oidlist, ...root })).data.objects as Record<string, { OBJECT: { name: string } }>;
    const protectedOids = new Set<string>(['1', fuzzAdmin, fuzzUser]);
    for (const [oid, o] of Object.entries(users)) if (['admin', 'api-admin'].includes(o.OBJECT.name)) protectedOids.add(oid);
    await ok(client, { cmd: 'ENDKEY', ...root });

    const asTest = d as unknown as TestDaemon;
    const world: World = {
      d,
      client,
      admin: await session(client, FUZZ_ADMIN, PASSWORD),
      user: await session(client, FUZZ_USER, PASSWORD),
      bearer: { admin: await login(asTest, FUZZ_ADMIN, PASSWORD), user: await login(asTest, FUZZ_USER, PASSWORD) },
      device: { key: '', token: '' },
      pantahub: { token: await pantahubLogin(asTest, FUZZ_USER, PASSWORD), deviceId: '' },
      sshToken: readFileSync(path.join(d.stateDir, 'ssh-api-token'), 'utf8').trim(),
      protectedOids,
      heavy,
      targets,
      async relogin(which = 'all') {
        if (which !== 'user') {
          world.admin = await session(client, FUZZ_ADMIN, PASSWORD);
          world.bearer.admin = await login(asTest, FUZZ_ADMIN, PASSWORD);
        }
        if (which !== 'admin') {
          world.user = await session(client, FUZZ_USER, PASSWORD);
          world.bearer.user = await login(asTest, FUZZ_USER, PASSWORD);
          world.pantahub.token = await pantahubLogin(asTest, FUZZ_USER, PASSWORD);
        }
      },
      async close() {
        client.close();
        // A daemon stuck on what the fuzz sent cannot run its SIGTERM handler: SIGKILL after 5 s.
        const stuck = setTimeout(() => void d.kill(), 5000);
        await d.close();
        clearTimeout(stuck);
        unreap();
      },
    };
    const dev = await newDevice(rest(asTest, { authorization: `Bearer ${world.bearer.admin}` }), { distribution: 'prod', device_name: 'fuzz device' });
    world.device = { key: dev.key, token: dev.token };
    world.pantahub.deviceId = (await pantahubCall(asTest, 'POST', '/devices/', { secret: PASSWORD }, world.pantahub.token)).body.id as string;
    return world;
  } catch (err) {
    client.close();
    await d.close();
    unreap();
    throw err;
  }
}
