import { goodbye, type ReadCommand } from '../src/dispatch/types.js';

/** SUSPEND [reason]: sysadmin only; until RESUME every write answers 309 SUSPENDED "reason". */
export const SUSPEND: ReadCommand<string> = {
  verb: 'SUSPEND',
  kind: 'read',
  access: 'admin',
  parse: (input) => (input.tokens.length > 0 ? input.tokens.map((t) => t.value).join(' ') : (input.envelope.reason ?? '')),
  async run(ctx, reason) {
    await ctx.state.suspend(reason);
    ctx.log.info({ audit: 'SUSPEND', user: ctx.caller.name, reason }, 'writes suspended');
    return goodbye();
  },
};
