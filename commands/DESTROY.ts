import { Tokens } from '../src/dispatch/args.js';
import { badParameters } from '../src/errors.js';
import { goodbye, type WriteCommand } from '../src/dispatch/types.js';

/**
 * DESTROY <oid>: removes an object and every namespace of it; its oid is never
 * reused. Cascades (a device's keys and tunnels, a user's sessions) and soft
 * deletes (a DeviceType) are the store's rules, as for every door.
 */
export const DESTROY: WriteCommand<string> = {
  verb: 'DESTROY',
  kind: 'write',
  access: 'user',
  parse(input) {
    const t = new Tokens(input.tokens);
    const oid = t.done ? input.envelope.oid : t.word('an oid');
    t.end();
    if (oid === undefined || oid === '') throw badParameters('expected an oid');
    return oid;
  },
  describe: (oid) => `DESTROY ${oid}`,
  async check(ctx, oid, target) {
    await ctx.store.checkWrite(ctx.caller, { op: 'DESTROY', target: target(oid) });
  },
  async prepare(ctx, oid) {
    return async (w, scope) => {
      await ctx.store.at(w).destroy(ctx.caller, scope.oid(oid));
      return goodbye();
    };
  },
};
