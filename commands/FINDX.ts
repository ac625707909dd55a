import { classQuery } from '../src/dispatch/args.js';
import { ok, type ReadCommand } from '../src/dispatch/types.js';
import { oidList } from '../src/dispatch/present.js';
import { continuation, findBounds, parseCursor } from '../src/dispatch/paging.js';
import type { FindCursor, FindQuery } from '../src/store/store.js';

/** FINDX: class + exact `args` AND `regex_args`, sorted by sorttype/sortprop, in one query. Bounded: see src/dispatch/paging.ts. */
export const FINDX: ReadCommand<{ cls: string; query: FindQuery; after?: FindCursor }> = {
  verb: 'FINDX',
  kind: 'read',
  access: 'user',
  parse: (input) => ({ ...classQuery(input), after: parseCursor(input.envelope.after) }),
  async run(ctx, { cls, query, after }) {
    const page = await ctx.store.findPage(ctx.caller, cls, query, findBounds(ctx, after));
    return ok({ oidlist: oidList(ctx, page.oids), ...continuation(page) });
  },
};
