/**
 * First start: the System object (oid 1) and the sysadmin `admin`. Its
 * password comes from CCED_ADMIN_PASSWORD, else a random one is printed once
 * to the terminal (stderr, never the log) and written to a 0600 file in the
 * state dir.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Services } from './services.js';
import { SYSTEM, Hashed } from './store/store.js';
import { hashPassword } from './auth/passwords.js';
import { randomSecret } from './auth/secrets.js';
import { USER_CLASS } from './auth/auth.js';

export const ADMIN_PASSWORD_FILE = 'admin.password';

export interface BootstrapResult {
  createdSystem: boolean;
  createdAdmin: boolean;
  /** Where a generated password was written, if one was. */
  passwordFile?: string;
}

export async function bootstrap(s: Services, env: NodeJS.ProcessEnv, tell: (line: string) => void): Promise<BootstrapResult> {
  const result: BootstrapResult = { createdSystem: false, createdAdmin: false };
  if (s.store.find(SYSTEM, 'System', { criteria: [] }).length === 0) {
    await s.writer.submit(() => s.store.create(SYSTEM, 'System', {}));
    result.createdSystem = true;
  }
  if (s.store.findOne(USER_CLASS, '', 'name', 'admin') === undefined) {
    const given = env.CCED_ADMIN_PASSWORD;
    const password = given && given.length > 0 ? given : randomSecret(18);
    const hash = await hashPassword(password);
    await s.writer.submit(() =>
      s.store.create(SYSTEM, USER_CLASS, {
        name: 'admin',
        fullName: 'Administrator',
        systemAdministrator: '1',
        capabilities: '&adminUser&',
        password: new Hashed(hash),
      }),
    );
    result.createdAdmin = true;
    if (!given) {
      const file = path.join(s.config.state_dir, ADMIN_PASSWORD_FILE);
      writeFileSync(file, password + '\n', { mode: 0o600 });
      result.passwordFile = file;
      tell(`cced: created user "admin" with password ${password} (also in ${file}; change it with SET)`);
    }
    s.log.info({ audit: 'BOOTSTRAP', user: 'admin' }, 'created the admin user');
  }
  return result;
}
