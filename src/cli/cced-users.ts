/**
 * `cced migrate`, `passwd`, `user ...` and `set-admin`: users and the database layout, written through the
 * store's rules like any other door.
 */
import type { Command } from 'commander';
import { Hashed, SYSTEM } from '../store/store.js';
import type { OpenStore } from '../store/open.js';
import { hashPassword } from '../auth/passwords.js';
import { randomSecret } from '../auth/secrets.js';
import { USER_CLASS } from '../auth/auth.js';
import { API_ADMIN_OID_SETTING } from '../auth/api-admin.js';
import { decodeArray, encodeArray } from '../schema/values.js';
import { Refusal, withStore, type Console, type Io } from './cced-context.js';

async function userOid(s: OpenStore, name: string): Promise<number> {
  const oid = await s.store.findOne(USER_CLASS, '', 'name', name);
  if (oid === undefined) throw new Refusal(`no user named ${JSON.stringify(name)}`);
  return oid;
}

export function userCommands(program: Command, c: Console): void {
  const { env } = c;
  program.command('migrate').description('run pending database migrations').action(() =>
    withStore(c, async (s) => {
      const { version } = await s.layout();
      c.io.out(`database at layout version ${version} (${await s.migrate()} applied now)\n`);
    }),
  );

  program
    .command('passwd <user>')
    .description("set a user's password: read from standard input when piped, else a random one printed once")
    .action((name: string) =>
      withStore(c, async (s) => {
        const oid = await userOid(s, name);
        const piped = c.io.stdin ? (await c.io.stdin()).replace(/\r?\n$/, '') : undefined;
        const password = piped || randomSecret(18);
        const hash = new Hashed(await hashPassword(password));
        await s.writer.submit((w) => s.store.at(w).set(SYSTEM, oid, '', { password: hash }));
        c.io.out(piped ? `password of ${name} changed\n` : `password of ${name} changed to: ${password}\n`);
      }),
    );

  const user = program.command('user').description('list, add, enable or disable users');
  user.command('list').action(() =>
    withStore(c, async ({ store }) => {
      for (const oid of await store.find(SYSTEM, USER_CLASS, { criteria: [], sortprop: { ns: '', name: 'name' } })) {
        const v = await store.rawValues(oid);
        c.io.out(`${oid}\t${v.name}\t${v.enabled === '0' ? 'disabled' : 'enabled'}${v.systemAdministrator === '1' ? '\tadmin' : ''}\n`);
      }
    }),
  );
  user
    .command('add <name>')
    .option('--admin', 'make it a systemAdministrator')
    .option('--full-name <text>', 'full name', '')
    .action((name: string, o: { admin?: boolean; fullName: string }) =>
      withStore(c, async (s) => {
        const oid = await s.writer.submit((w) =>
          s.store.at(w).create(SYSTEM, USER_CLASS, { name, fullName: o.fullName, systemAdministrator: o.admin ? '1' : '0', ...(o.admin ? { capabilities: '&adminUser&' } : {}) }),
        );
        c.io.out(`created user ${name} (oid ${oid}); set its password with: cced passwd ${name}\n`);
      }),
    );
  for (const [verb, value] of [['enable', '1'], ['disable', '0']] as const) {
    user.command(`${verb} <name>`).action((name: string) =>
      withStore(c, async (s) => {
        const oid = await userOid(s, name);
        await s.writer.submit((w) => s.store.at(w).set(SYSTEM, oid, '', { enabled: value }));
        c.io.out(`user ${name} ${verb}d\n`);
      }),
    );
  }

  program
    .command('set-admin <user>')
    .description('make an existing user an enabled systemAdministrator (repairs a store with none left); prints no secret')
    .option('--password', 'also set its password: piped on standard input, else $CCED_ADMIN_PASSWORD')
    .action((name: string, o: { password?: boolean }) =>
      withStore(c, async (s) => {
        const oid = await userOid(s, name);
        if (String(oid) === await s.store.setting(API_ADMIN_OID_SETTING)) throw new Refusal(`${name} is the identity behind LOGIN tokens: nobody can log in as it`);
        const password = o.password ? await givenPassword(c.io, env) : undefined;
        const hash = password === undefined ? undefined : new Hashed(await hashPassword(password));
        const capabilities = decodeArray((await s.store.rawValues(oid)).capabilities ?? '') ?? [];
        // A repair, so it goes through while writes are suspended: else a store suspended by an administrator
        // who then lost the password could never be resumed.
        await s.writer.maintenance((w) =>
          s.store.at(w).set(SYSTEM, oid, '', {
            systemAdministrator: '1',
            enabled: '1',
            capabilities: encodeArray([...new Set([...capabilities, 'adminUser'])]),
            ...(hash ? { password: hash } : {}),
          }),
        );
        c.io.out(`${name} is now an enabled system administrator${hash ? ' with the given password' : ''}\n`);
      }),
    );

}

/** set-admin --password: piped on standard input, else CCED_ADMIN_PASSWORD; neither is an error (never a generated one to print). */
async function givenPassword(io: Io, env: NodeJS.ProcessEnv): Promise<string> {
  const piped = io.stdin ? (await io.stdin()).replace(/\r?\n$/, '') : '';
  const password = piped || env.CCED_ADMIN_PASSWORD || '';
  if (password === '') throw new Refusal('--password: pipe the password on standard input or set CCED_ADMIN_PASSWORD');
  return password;
}

