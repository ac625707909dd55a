/**
 * Expected reply shapes and store snapshots shared by the protocol tests.
 */
import type { CceClient, TestDaemon } from './daemon.js';
import { CceClient as Client } from './daemon.js';
import { rowsOf } from './store-rows.js';

/** The reference's failure envelope: the given errors, then 401 FAIL. */
export function failure(...errors: [number, string][]) {
  return {
    status: 401,
    message: 'GOODBYE',
    data: { errors: [...errors.map(([code, message]) => ({ code, message })), { code: 401, message: 'FAIL' }] },
  };
}

export const GOODBYE = { status: 201, message: 'GOODBYE' };

/** Every object of every class (GETALL by class over HTTP), plus the credential hashes, to prove nothing changed. */
export async function snapshot(admin: CceClient): Promise<unknown> {
  const classes = (await admin.cmd('CLASSES')).body.data.classes as string[];
  const objects: Record<string, unknown> = {};
  for (const cls of classes) {
    const r = await admin.cmd({ cmd: 'GETALL', class: cls });
    Object.assign(objects, r.body.data.objects);
  }
  const credentials = await rowsOf(admin.d, 'SELECT oid, name, hash FROM credentials ORDER BY oid, name');
  const settings = await rowsOf(admin.d, 'SELECT key, value FROM settings ORDER BY key');
  return { objects, credentials, settings };
}

/** Creates a User with a password (as `admin`) and returns its oid and a logged-in client. */
export async function makeUser(
  admin: CceClient,
  name: string,
  password: string,
  extra: Record<string, unknown> = {},
): Promise<{ oid: string; client: CceClient }> {
  const r = await admin.cmd({ cmd: 'CREATE', class: 'User', args: { name, password, ...extra } });
  if (r.body.status !== 201) throw new Error(`CREATE User ${name} failed: ${r.text}`);
  const client = await new Client(admin.d as TestDaemon, name).login(password);
  return { oid: r.body.data.oid as string, client };
}
