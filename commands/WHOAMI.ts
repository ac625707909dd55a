import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';

/** WHOAMI: the caller's oid, or "-1" (with the reference's 401 FAIL item) when anonymous. */
export const WHOAMI: ReadCommand<void> = {
  verb: 'WHOAMI',
  kind: 'read',
  access: 'public',
  parse: none,
  run(ctx) {
    if (ctx.caller.kind === 'anonymous') return goodbye({ errors: [{ code: 401, message: 'FAIL' }], oid: '-1' });
    return goodbye({ oid: ctx.format === 'json' ? ctx.caller.oid : String(ctx.caller.oid) });
  },
};
