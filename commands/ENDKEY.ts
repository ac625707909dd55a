import { CceError } from '../src/errors.js';
import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';
import { auditAuth } from '../src/auth/audit.js';

/**
 * ENDKEY: destroys the caller's session (or token) for real, with any BEGIN queue it held.
 * Public so that a failed attempt is audited here too; without a live grant it is 401 FAIL.
 */
export const ENDKEY: ReadCommand<void> = {
  verb: 'ENDKEY',
  kind: 'read',
  access: 'public',
  parse: none,
  async run(ctx) {
    const { caller } = ctx;
    if (caller.secret === undefined) {
      await auditAuth(ctx, 'ENDKEY', ctx.caller.name, 'fail');
      throw new CceError(401);
    }
    await ctx.auth.grants.revoke(caller.secret);
    await auditAuth(ctx, 'ENDKEY', caller.name, 'ok');
    return goodbye();
  },
};
