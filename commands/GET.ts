import { Tokens, target } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';
import { objectData } from '../src/dispatch/present.js';
import { plainOid } from '../src/store/writer.js';

/** GET <oid> [. <ns>]: `data.DATA`, properties the caller may not read left out. */
export const GET: ReadCommand<{ oid: number; ns: string }> = {
  verb: 'GET',
  kind: 'read',
  access: 'user',
  parse(input) {
    const t = new Tokens(input.tokens);
    const { oid, ns } = target(input, t);
    t.end();
    return { oid: plainOid(oid), ns };
  },
  run: async (ctx, { oid, ns }) => goodbye({ DATA: objectData(ctx, await ctx.store.get(ctx.caller, oid, ns)) }),
};
