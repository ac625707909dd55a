import { badParameters } from '../src/errors.js';
import { holdsNul } from '../src/schema/values.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';

/** SUSPEND [reason]: sysadmin only; until RESUME every write answers 309 SUSPENDED "reason". */
export const SUSPEND: ReadCommand<string> = {
  verb: 'SUSPEND',
  kind: 'read',
  access: 'admin',
  parse: (input) => {
    const reason = input.tokens.length > 0 ? input.tokens.map((t) => t.value).join(' ') : (input.envelope.reason ?? '');
    // Kept as a setting, and no stored text holds U+0000.
    if (holdsNul(reason)) throw badParameters('the reason may not hold U+0000');
    return reason;
  },
  async run(ctx, reason) {
    await ctx.state.suspend(reason);
    ctx.log.info({ audit: 'SUSPEND', user: ctx.caller.name, reason }, 'writes suspended');
    return goodbye();
  },
};
