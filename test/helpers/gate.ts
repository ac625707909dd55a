/**
 * Helpers for the security-gate tests: requests from simulated remote hosts
 * (the client socket bound to 127.0.0.x), the access file's secrets, and the
 * "no secret in any log line" scan over every line this test process captured.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ALL_LOGS, http, type HttpResult, type TestDaemon } from './daemon.js';
import { parseAccessFile } from '../../src/auth/access-file.js';

/** Every secret value a test used; the final scan looks for each of them in the logs. */
export const USED_SECRETS = new Set<string>();

export function remember<T extends string | undefined>(secret: T): T {
  if (secret !== undefined && secret.length >= 8) USED_SECRETS.add(secret);
  return secret;
}

/** POST /v2/cce from `ip`, with an X-Client-Secret when given. */
export function from(d: TestDaemon, ip: string, body: unknown, secret?: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return http(`${d.url}/v2/cce`, body, {
    localAddress: ip,
    headers: { ...(secret !== undefined ? { 'x-client-secret': remember(secret) } : {}), ...headers },
  });
}

/** entry -> client secret, as the daemon wrote them. */
export function accessSecrets(d: TestDaemon): Map<string, string> {
  const secrets = parseAccessFile(readFileSync(path.join(d.config.state_dir, 'access'), 'utf8'));
  for (const s of secrets.values()) remember(s);
  return secrets;
}

/** LOGIN from `ip` with the secret of `entry`; returns the token (remembered for the log scan). */
export async function login(d: TestDaemon, ip: string, entry = ip): Promise<string> {
  const r = await from(d, ip, { cmd: 'LOGIN' }, accessSecrets(d).get(entry)!);
  if (r.body?.data?.token === undefined) throw new Error(`LOGIN failed: ${r.status} ${r.text}`);
  return remember(r.body.data.token as string);
}

/** The lines (of every daemon in this process) that contain any remembered secret. */
export function linesWithSecrets(): string[] {
  return ALL_LOGS.filter((line) => [...USED_SECRETS].some((s) => line.includes(s)));
}

/** The parsed audit lines of one daemon. */
export function auditLines(d: TestDaemon): Record<string, unknown>[] {
  return d.logs.filter((l) => l.startsWith('{') && l.includes('"audit"')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The whole-envelope reply of a refused command (the reference's shape). */
export function failed(...errors: { code: number; message: string }[]) {
  return { status: 401, message: 'GOODBYE', data: { errors: [...errors, { code: 401, message: 'FAIL' }] } };
}

export const FAIL_ONLY = failed();
export const FORBIDDEN = { statusCode: 403, error: 'Forbidden', message: 'origin not allowed' };
export const DENIED_AUTH = failed({ code: 304, message: 'PERMISSION DENIED Access Denied: AUTH and AUTHKEY only allowed from localhost' });
export const DENIED_LOGIN = failed({ code: 304, message: 'PERMISSION DENIED Access Denied: LOGIN not allowed from localhost' });
