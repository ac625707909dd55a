import { none } from '../src/dispatch/args.js';
import { nobody } from '../src/dispatch/reply.js';
import { goodbye, type CommandContext, type ReadCommand } from '../src/dispatch/types.js';
import { auditAuth } from '../src/auth/audit.js';
import { guessPassword } from '../src/auth/password-guess.js';

type Credentials = { user: string; password: string } | undefined;

/**
 * WHOAMI: the caller's oid, or "-1" (with the reference's 401 FAIL item) when
 * anonymous. As in the reference, `user` + `password` in the envelope name the
 * caller too (from a local address only, as AUTH; a wrong password counts
 * toward the same ban as AUTH's does); a valid session or token in the same envelope wins.
 */
export const WHOAMI: ReadCommand<Credentials> = {
  verb: 'WHOAMI',
  kind: 'read',
  access: 'public',
  parse(input) {
    none(input);
    const { user, password } = input.envelope;
    return user === undefined || password === undefined ? undefined : { user, password };
  },
  async run(ctx, credentials) {
    const oid = ctx.caller.kind !== 'anonymous' ? ctx.caller.oid : await byPassword(ctx, credentials);
    if (oid === undefined) return nobody();
    return goodbye({ oid: ctx.format === 'json' ? oid : String(oid) });
  },
};

async function byPassword(ctx: CommandContext, credentials: Credentials): Promise<number | undefined> {
  if (credentials === undefined || ctx.origin !== 'local') return undefined;
  const { user, password } = credentials;
  const oid = await guessPassword(ctx.auth.bans, { ip: ctx.ip, name: user, audit: 'WHOAMI', log: ctx.log }, () => ctx.auth.checkPassword(user, password));
  if (oid !== undefined) await auditAuth(ctx, 'WHOAMI', user, 'ok');
  return oid;
}
