import { none } from '../src/dispatch/args.js';
import { badCommand } from '../src/errors.js';
import type { ReadCommand } from '../src/dispatch/types.js';

/** BEGIN: from now on this session's (or token's) writes are queued until COMMIT or ROLLBACK. */
export const BEGIN: ReadCommand<void> = {
  verb: 'BEGIN',
  kind: 'read',
  access: 'user',
  parse: none,
  run(ctx) {
    // access 'user' guarantees a session or token behind the caller.
    const grant = ctx.caller.grant!;
    if (grant.queue) throw badCommand('a transaction is already open (COMMIT or ROLLBACK it first)');
    grant.queue = [];
    return { status: 201, message: 'BEGIN OK' };
  },
};
