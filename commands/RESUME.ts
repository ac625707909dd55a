import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';

/** RESUME: sysadmin only; writes are accepted again. */
export const RESUME: ReadCommand<void> = {
  verb: 'RESUME',
  kind: 'read',
  access: 'admin',
  parse: none,
  async run(ctx) {
    await ctx.state.resume();
    ctx.log.info({ audit: 'RESUME', user: ctx.caller.name }, 'writes resumed');
    return goodbye();
  },
};
