/** Pantahub tests' requests: a call with an optional token or headers, a login, a daemon with logged-in users. */
import type { Test } from 'tap';
import type { ConfigInput } from '../../src/config/schema.js';
import { adminClient, http, startDaemon, type TestDaemon } from './daemon.js';
import { makeUser } from './replies.js';

/** One request; `auth` is a Pantahub token (sent as a bearer) or headers. */
export const call = (d: TestDaemon, method: string, path: string, body?: unknown, auth?: string | Record<string, string>) =>
  http(`${d.url}${path}`, body, { method, headers: auth === undefined ? {} : typeof auth === 'string' ? { authorization: `Bearer ${auth}` } : auth });

export async function login(d: TestDaemon, username: string, password: string): Promise<string> {
  const r = await call(d, 'POST', '/auth/login', { username, password });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
  return r.body.token as string;
}

/** A daemon with the users user1..userN (password `userI-password`), each logged in: their tokens, in order. */
export async function daemonWithUsers(t: Test, n: number, config: ConfigInput = {}): Promise<{ d: TestDaemon; tokens: string[] }> {
  const d = await startDaemon({ config });
  t.teardown(() => d.close());
  const admin = await adminClient(d);
  const tokens: string[] = [];
  for (let i = 1; i <= n; i++) {
    await makeUser(admin, `user${i}`, `user${i}-password`);
    tokens.push(await login(d, `user${i}`, `user${i}-password`));
  }
  return { d, tokens };
}

/**
 * The seed's device as a test expects it: `got`'s own id, nick and creation
 * time, `owner`'s prn, private, empty metas, unmodified; `more` overrides.
 */
export function seedDevice(got: Record<string, unknown>, owner: string, more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'device-meta': {},
    id: got.id,
    nick: got.nick,
    owner: owner === '' ? '' : `prn:pantahub.com:auth:/${owner}`,
    prn: `prn:::devices:/${String(got.id)}`,
    public: false,
    'time-created': got['time-created'],
    'time-modified': got['time-created'],
    'user-meta': {},
    ...more,
  };
}
