import { classQuery } from '../src/dispatch/args.js';
import { ok, type ReadCommand } from '../src/dispatch/types.js';
import { oidList } from '../src/dispatch/present.js';
import type { FindQuery } from '../src/store/store.js';

/** FINDX: class + exact `args` AND `regex_args`, sorted by sorttype/sortprop, in one query. */
export const FINDX: ReadCommand<{ cls: string; query: FindQuery }> = {
  verb: 'FINDX',
  kind: 'read',
  access: 'user',
  parse: classQuery,
  run: (ctx, { cls, query }) => ok({ oidlist: oidList(ctx, ctx.store.find(ctx.caller, cls, query)) }),
};
