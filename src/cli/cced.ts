/**
 * `cced`: the admin console of a cced installation, working on the store
 * directly (as root or the service user on the host; SQLite's WAL lets it run
 * beside the daemon).
 *
 *   cced check-config                  validate configuration and schema
 *   cced migrate                       run pending database migrations
 *   cced passwd <user>                 set a password (stdin, else a random one printed once)
 *   cced user list | add <name> [--admin] | enable <name> | disable <name>
 *   cced set-admin <user> [--password] make a user an enabled sysadmin (password: stdin or CCED_ADMIN_PASSWORD)
 *   cced export [file]                 every object as JSON lines (password hashes never leave)
 *   cced import <file>                 create objects from such lines (new oids)
 *   cced serve                         run the daemon (what npm start does)
 */
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import { z } from 'zod';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { openStore, type OpenStore } from '../store/open.js';
import { migrate } from '../store/db.js';
import { Hashed, SYSTEM } from '../store/store.js';
import { hashPassword } from '../auth/passwords.js';
import { randomSecret } from '../auth/secrets.js';
import { USER_CLASS } from '../auth/auth.js';
import { API_ADMIN_OID_SETTING } from '../auth/api-admin.js';
import { decodeArray, encodeArray } from '../schema/values.js';
import { CceError } from '../errors.js';
import { DeviceEvents } from '../store/events.js';
import { DaemonState } from '../state.js';
import { installRules } from '../rules.js';
import { referenceRanks } from '../store/references.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** Standard input when it is not a terminal (a piped password), else undefined. */
  stdin?: () => Promise<string>;
}

const exportLine = z.strictObject({
  oid: z.number().int().positive(),
  class: z.string(),
  namespaces: z.record(z.string(), z.record(z.string(), z.string())),
});

/** Opens the store of the configuration given by --config / CCED_CONFIG, runs `fn`, closes it. */
async function withStore<R>(configFile: string | undefined, env: NodeJS.ProcessEnv, fn: (s: OpenStore, c: Config) => Promise<R> | R): Promise<R> {
  const config = loadConfig({ argv: configFile ? ['--config', configFile] : [], env });
  // Audit lines of console writes go to stderr, so stdout stays for results.
  const log = pino({ base: { service: 'cced-admin' } }, pino.destination(2));
  const s = openStore(config, log);
  // The console is one more door: the core's rules hold here too (a new password ends the user's grants in
  // the daemon, a suspended store refuses writes).
  installRules({ ...s, events: new DeviceEvents(s.db) });
  new DaemonState(s.store, s.writer).restore();
  try {
    return await fn(s, config);
  } finally {
    s.writer.close();
    s.db.close();
  }
}

function userOid(s: OpenStore, name: string): number {
  const oid = s.store.findOne(USER_CLASS, '', 'name', name);
  if (oid === undefined) throw new Error(`no user named ${JSON.stringify(name)}`);
  return oid;
}

export async function run(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const program = new Command('cced').description('cced admin console').option('--config <file>', 'configuration file (else CCED_CONFIG)');
  program.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  const cfg = () => program.opts<{ config?: string }>().config;
  let code = 0;

  program.command('check-config').description('validate the configuration and the schema').action(() =>
    withStore(cfg(), env, ({ store }, c) => {
      io.out(`configuration ok: listen ${c.listen_address.host}:${c.listen_address.port}, state ${c.state_dir}, ${store.classes().length} classes, ${store.count()} objects\n`);
    }),
  );

  program.command('migrate').description('run pending database migrations').action(() =>
    withStore(cfg(), env, ({ db }) => {
      io.out(`database at layout version ${db.pragma('user_version', { simple: true })} (${migrate(db)} applied now)\n`);
    }),
  );

  program
    .command('passwd <user>')
    .description("set a user's password: read from standard input when piped, else a random one printed once")
    .action((name: string) =>
      withStore(cfg(), env, async (s) => {
        const oid = userOid(s, name);
        const piped = io.stdin ? (await io.stdin()).replace(/\r?\n$/, '') : undefined;
        const password = piped || randomSecret(18);
        const hash = new Hashed(await hashPassword(password));
        await s.writer.submit(() => s.store.set(SYSTEM, oid, '', { password: hash }));
        io.out(piped ? `password of ${name} changed\n` : `password of ${name} changed to: ${password}\n`);
      }),
    );

  const user = program.command('user').description('list, add, enable or disable users');
  user.command('list').action(() =>
    withStore(cfg(), env, ({ store }) => {
      for (const oid of store.find(SYSTEM, USER_CLASS, { criteria: [], sortprop: { ns: '', name: 'name' } })) {
        const v = store.rawValues(oid);
        io.out(`${oid}\t${v.name}\t${v.enabled === '0' ? 'disabled' : 'enabled'}${v.systemAdministrator === '1' ? '\tadmin' : ''}\n`);
      }
    }),
  );
  user
    .command('add <name>')
    .option('--admin', 'make it a systemAdministrator')
    .option('--full-name <text>', 'full name', '')
    .action((name: string, o: { admin?: boolean; fullName: string }) =>
      withStore(cfg(), env, async (s) => {
        const oid = await s.writer.submit(() =>
          s.store.create(SYSTEM, USER_CLASS, { name, fullName: o.fullName, systemAdministrator: o.admin ? '1' : '0', ...(o.admin ? { capabilities: '&adminUser&' } : {}) }),
        );
        io.out(`created user ${name} (oid ${oid}); set its password with: cced passwd ${name}\n`);
      }),
    );
  for (const [verb, value] of [['enable', '1'], ['disable', '0']] as const) {
    user.command(`${verb} <name>`).action((name: string) =>
      withStore(cfg(), env, async (s) => {
        const oid = userOid(s, name);
        await s.writer.submit(() => s.store.set(SYSTEM, oid, '', { enabled: value }));
        io.out(`user ${name} ${verb}d\n`);
      }),
    );
  }

  program
    .command('set-admin <user>')
    .description('make an existing user an enabled systemAdministrator (repairs a store with none left); prints no secret')
    .option('--password', 'also set its password: piped on standard input, else $CCED_ADMIN_PASSWORD')
    .action((name: string, o: { password?: boolean }) =>
      withStore(cfg(), env, async (s) => {
        const oid = userOid(s, name);
        if (String(oid) === s.store.setting(API_ADMIN_OID_SETTING)) throw new Error(`${name} is the identity behind LOGIN tokens: nobody can log in as it`);
        const password = o.password ? await givenPassword(io, env) : undefined;
        const hash = password === undefined ? undefined : new Hashed(await hashPassword(password));
        const capabilities = decodeArray(s.store.rawValues(oid).capabilities ?? '') ?? [];
        // A repair, so it goes through while writes are suspended: else a store suspended by an administrator
        // who then lost the password could never be resumed.
        await s.writer.maintenance(() =>
          s.store.set(SYSTEM, oid, '', {
            systemAdministrator: '1',
            enabled: '1',
            capabilities: encodeArray([...new Set([...capabilities, 'adminUser'])]),
            ...(hash ? { password: hash } : {}),
          }),
        );
        io.out(`${name} is now an enabled system administrator${hash ? ' with the given password' : ''}\n`);
      }),
    );

  program
    .command('export [file]')
    .description('write every object as one JSON line each (password hashes are not exported)')
    .action((file: string | undefined) =>
      withStore(cfg(), env, ({ store }) => {
        const lines: string[] = [];
        for (const cls of store.classes()) {
          const oids = store.find(SYSTEM, cls, { criteria: [] });
          for (const [oid, entry] of store.getMany(SYSTEM, oids)) {
            lines.push(JSON.stringify({ oid, class: entry.cls.name, namespaces: Object.fromEntries(entry.namespaces) }));
          }
        }
        const text = lines.map((l) => l + '\n').join('');
        if (file) {
          writeFileSync(file, text, { mode: 0o600 });
          io.out(`exported ${lines.length} objects to ${file}\n`);
        } else io.out(text);
      }),
    );

  program
    .command('import <file>')
    .description('create the objects of an export (they get new oids); all or nothing')
    .action((file: string) =>
      withStore(cfg(), env, async (s) => {
        const entries = readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l, i) => {
            const r = exportLine.safeParse(JSON.parse(l));
            if (!r.success) throw new Error(`${file}:${i + 1}: ${r.error.issues[0]!.message}`);
            return r.data;
          });
        // Referenced classes first (a Device names its DeviceType), each class in the file's order.
        const rank = referenceRanks(s.store.schema);
        entries.sort((x, y) => (rank.get(x.class) ?? 0) - (rank.get(y.class) ?? 0));
        const created = await s.writer.submit(() =>
          s.writer.savepoint(() =>
            entries.map((e) => {
              const { '': main = {}, ...named } = e.namespaces;
              const writable = (values: Record<string, string>) => Object.fromEntries(Object.entries(values).filter(([k]) => !/password/i.test(k)));
              const oid = s.store.create(SYSTEM, e.class, writable(main));
              for (const [ns, values] of Object.entries(named)) s.store.set(SYSTEM, oid, ns, writable(values));
              return oid;
            }),
          ),
        );
        io.out(`imported ${created.length} objects\n`);
      }),
    );

  program.command('serve').description('run the daemon (same as npm start)').action(async () => {
    await import('../main.js');
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const exit = (e as { exitCode?: number }).exitCode;
    if (typeof exit === 'number') return exit === 0 ? 0 : 2;
    io.err(`cced: ${e instanceof CceError ? e.items.map((i) => i.message).join('; ') : (e as Error).message}\n`);
    code = 1;
  }
  return code;
}

/** set-admin --password: piped on standard input, else CCED_ADMIN_PASSWORD; neither is an error (never a generated one to print). */
async function givenPassword(io: Io, env: NodeJS.ProcessEnv): Promise<string> {
  const piped = io.stdin ? (await io.stdin()).replace(/\r?\n$/, '') : '';
  const password = piped || env.CCED_ADMIN_PASSWORD || '';
  if (password === '') throw new Error('--password: pipe the password on standard input or set CCED_ADMIN_PASSWORD');
  return password;
}

/** Reads all of standard input (for a piped password). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
