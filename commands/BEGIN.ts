import { none } from '../src/dispatch/args.js';
import type { ReadCommand } from '../src/dispatch/types.js';

/** BEGIN: from now on this session's (or token's) writes are queued until COMMIT or ROLLBACK. */
export const BEGIN: ReadCommand<void> = {
  verb: 'BEGIN',
  kind: 'read',
  access: 'user',
  parse: none,
  async run(ctx) {
    // access 'user' guarantees a session or token behind the caller.
    await ctx.queues.begin(ctx.caller.grant!);
    return { status: 201, message: 'BEGIN OK' };
  },
};
