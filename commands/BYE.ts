import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';
import { auditAuth } from '../src/auth/audit.js';

/** BYE: ends the request's token (a LOGIN token dies here); a session lives on until ENDKEY. */
export const BYE: ReadCommand<void> = {
  verb: 'BYE',
  kind: 'read',
  access: 'public',
  parse: none,
  async run(ctx) {
    const { caller } = ctx;
    const isToken = caller.grant?.kind === 'token' && caller.secret !== undefined;
    if (isToken) await ctx.auth.grants.revoke(caller.secret!);
    await auditAuth(ctx, 'BYE', caller.name, isToken ? 'ok' : 'none');
    return goodbye();
  },
};
