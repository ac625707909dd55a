/**
 * First start, and only then: on an empty store, the System object (oid 1)
 * and the sysadmin `admin`. Its password comes from CCED_ADMIN_PASSWORD, else a
 * random one is printed once to the terminal (stderr, never the log) and
 * written to a 0600 file in the state dir. A store that holds anything is
 * never given a new admin (renaming or deleting `admin` must not bring one
 * back with a password on stderr); when it has no system administrator left,
 * the start says so and `cced set-admin <user>` repairs it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Services } from './services.js';
import { SYSTEM, Hashed } from './store/store.js';
import { hashPassword } from './auth/passwords.js';
import { randomSecret } from './auth/secrets.js';
import { API_ADMIN_NAME, USER_CLASS } from './auth/auth.js';
import { API_ADMIN_OID_SETTING } from './auth/api-admin.js';
import type { Store } from './store/store.js';

export const ADMIN_PASSWORD_FILE = 'admin.password';

export interface BootstrapResult {
  createdSystem: boolean;
  createdAdmin: boolean;
  /** Where a generated password was written, if one was. */
  passwordFile?: string;
}

export async function bootstrap(s: Services, env: NodeJS.ProcessEnv, tell: (line: string) => void): Promise<BootstrapResult> {
  const result: BootstrapResult = { createdSystem: false, createdAdmin: false };
  if ((await s.store.count()) > 0) {
    if ((await personSysadmins(s.store)).length === 0) {
      s.log.warn({ audit: 'BOOTSTRAP', outcome: 'no-sysadmin' }, 'no system administrator left; repair with: cced set-admin <user>');
      tell('cced: this store has no system administrator left; make one with: cced set-admin <user>');
    }
    return result;
  }
  const given = env.CCED_ADMIN_PASSWORD;
  const password = given && given.length > 0 ? given : randomSecret(18);
  const hash = await hashPassword(password);
  // Both in one transaction: a start that dies half-way leaves an empty store, to be bootstrapped again.
  await s.writer.submit(async (w) => {
    const tx = s.store.at(w);
    await tx.create(SYSTEM, 'System', {});
    await tx.create(SYSTEM, USER_CLASS, {
      name: 'admin',
      fullName: 'Administrator',
      systemAdministrator: '1',
      capabilities: '&adminUser&',
      password: new Hashed(hash),
    });
  });
  result.createdSystem = true;
  result.createdAdmin = true;
  if (!given) {
    const file = path.join(s.config.state_dir, ADMIN_PASSWORD_FILE);
    writeFileSync(file, password + '\n', { mode: 0o600 });
    result.passwordFile = file;
    tell(`cced: created user "admin" with password ${password} (also in ${file}; change it with SET)`);
  }
  s.log.info({ audit: 'BOOTSTRAP', user: 'admin' }, 'created the admin user');
  return result;
}

/**
 * The enabled system administrators a person can log in as: api-admin, the
 * identity behind LOGIN tokens that nobody may AUTH as, is not one.
 */
export async function personSysadmins(store: Store): Promise<number[]> {
  const apiAdmin = await store.setting(API_ADMIN_OID_SETTING);
  const out: number[] = [];
  for (const oid of await store.find(SYSTEM, USER_CLASS, { criteria: [{ ns: '', name: 'systemAdministrator', op: '=', value: '1' }] })) {
    const v = await store.rawValues(oid);
    if (v.enabled !== '0' && v.name !== API_ADMIN_NAME && String(oid) !== apiAdmin) out.push(oid);
  }
  return out;
}
