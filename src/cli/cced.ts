/**
 * `cced`: the admin console of a cced installation, working on the store
 * directly (as root or the service user on the host; SQLite's WAL lets it run
 * beside the daemon). Each command says, on a line of its own on stderr, which
 * configuration and store it acts on; exit 0 done, 1 refused, 2 usage.
 *
 *   cced check-config                  the daemon's own start-up checks; read-only, creates nothing
 *   cced migrate                       run pending database migrations
 *   cced passwd <user>                 set a password (stdin, else a random one printed once)
 *   cced user list | add <name> [--admin] | enable <name> | disable <name>
 *   cced set-admin <user> [--password] make a user an enabled sysadmin (password: stdin or CCED_ADMIN_PASSWORD)
 *   cced purge [--apply] [--older-than DAYS]   stale leases and events; a dry run by default
 *   cced backup FILE | restore FILE    the store, copied online; restore only while nothing has it open
 *   cced export [FILE] [--with-secrets] | import FILE   every object, references kept
 *   cced serve                         run the daemon (what npm start does)
 *
 * Global options: --config FILE (else CCED_CONFIG), --instance NAME (else CCED_INSTANCE).
 */
import { Command } from 'commander';
import { CceError } from '../errors.js';
import type { Console, ConsoleOptions, Io } from './cced-context.js';
import { checkConfigCommand } from './cced-check-config.js';
import { userCommands } from './cced-users.js';
import { purgeCommand } from './cced-purge.js';
import { backupCommands } from './cced-backup.js';
import { transferCommands } from './cced-transfer.js';

export type { Io } from './cced-context.js';

export async function run(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const program = new Command('cced')
    .description('cced admin console: acts on the store of a configuration, beside the running daemon')
    .option('--config <file>', 'configuration file (else CCED_CONFIG)')
    .option('--instance <name>', 'also load <config>.<name>.conf beside the configuration file (else CCED_INSTANCE)');
  program.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  const c: Console = { io, env, options: () => program.opts<ConsoleOptions>() };
  checkConfigCommand(program, c);
  userCommands(program, c);
  purgeCommand(program, c);
  backupCommands(program, c);
  transferCommands(program, c);
  program.command('serve').description('run the daemon (same as npm start)').action(async () => {
    await import('../main.js');
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const exit = (e as { exitCode?: number }).exitCode;
    if (typeof exit === 'number') return exit === 0 ? 0 : 2;
    io.err(`cced: ${e instanceof CceError ? e.items.map((i) => i.message).join('; ') : (e as Error).message}\n`);
    return 1;
  }
}

/** Reads all of standard input (for a piped password). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
