import { Tokens, assignmentText, assignments, target } from '../src/dispatch/args.js';
import { goodbye, type WriteCommand } from '../src/dispatch/types.js';
import { checkWriteOnly, hashWriteOnly, unhashed } from '../src/auth/write-only.js';

interface SetArgs {
  oid: string;
  ns: string;
  values: Record<string, unknown>;
  /** A non-admin's current password, when it changes its own (an argument or the envelope field). */
  oldpassword: string;
}

/**
 * SET <oid> [. <ns>] k="v" ...: every key is checked before anything is written.
 * What a write entails beyond itself (a disabled user's sessions ending, a
 * renamed type reaching its devices) is the store's rules', as for every door.
 */
export const SET: WriteCommand<SetArgs> = {
  verb: 'SET',
  kind: 'write',
  access: 'user',
  parse(input) {
    const t = new Tokens(input.tokens);
    const { oid, ns } = target(input, t);
    const { oldpassword, ...values } = assignments(input, t);
    return { oid, ns, values, oldpassword: String(oldpassword ?? input.envelope.oldpassword ?? '') };
  },
  describe: ({ oid, ns, values }, secret) =>
    ['SET', oid, ...(ns ? ['.', ns] : []), ...assignmentText(values, secret)].join(' '),
  async check(ctx, { oid, ns, values }, target) {
    // The current password (a non-admin changing its own) is checked at COMMIT only: it costs a hash.
    const t = target(oid);
    const cls = typeof t === 'number' ? await ctx.store.objectClass(t) : t;
    const writeOnly = await checkWriteOnly(ctx.store, ctx.caller, cls, ns, typeof t === 'number' ? t : undefined, values);
    await ctx.store.checkWrite(ctx.caller, { op: 'SET', target: t, ns, values: unhashed(values, writeOnly) });
  },
  async prepare(ctx, { oid, ns, values, oldpassword }) {
    // $n references resolve only inside the transaction; hashing needs the class, so it is looked up when it can be.
    const known = /^[0-9]+$/.test(oid) && await ctx.store.exists(Number(oid)) ? Number(oid) : undefined;
    const cls = known !== undefined ? await ctx.store.objectClass(known) : ctx.pendingClass?.(oid);
    const ready = cls ? await hashWriteOnly(ctx.store, ctx.caller, cls, ns, known, values, oldpassword) : values;
    return async (w, scope) => {
      await ctx.store.at(w).set(ctx.caller, scope.oid(oid), ns, ready);
      return goodbye();
    };
  },
};

