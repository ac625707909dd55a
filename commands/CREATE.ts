import { Tokens, assignmentText, assignments, className } from '../src/dispatch/args.js';
import { goodbye, type WriteCommand } from '../src/dispatch/types.js';
import { checkWriteOnly, hashWriteOnly, unhashed } from '../src/auth/write-only.js';

interface CreateArgs {
  cls: string;
  values: Record<string, unknown>;
}

/** CREATE <class> k="v" ...: a new object; `data.oid` is its oid. */
export const CREATE: WriteCommand<CreateArgs> = {
  verb: 'CREATE',
  kind: 'write',
  access: 'user',
  parse(input) {
    const t = new Tokens(input.tokens);
    const cls = className(input, t);
    return { cls, values: assignments(input, t) };
  },
  describe: ({ cls, values }, secret) => ['CREATE', cls, ...assignmentText(values, secret)].join(' '),
  createsClass: ({ cls }) => cls,
  async check(ctx, { cls, values }) {
    const writeOnly = await checkWriteOnly(ctx.store, ctx.caller, ctx.store.classDef(cls), '', undefined, values);
    await ctx.store.checkWrite(ctx.caller, { op: 'CREATE', className: cls, values: unhashed(values, writeOnly) });
  },
  async prepare(ctx, { cls, values }) {
    const ready = await hashWriteOnly(ctx.store, ctx.caller, ctx.store.classDef(cls), '', undefined, values);
    return async (w) => {
      const oid = await ctx.store.at(w).create(ctx.caller, cls, ready);
      return goodbye({ oid: ctx.format === 'json' ? oid : String(oid) });
    };
  },
};
