import { Tokens, className, findQuery } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';
import { oidList } from '../src/dispatch/present.js';
import { continuation, findBounds, parseCursor } from '../src/dispatch/paging.js';
import type { FindCursor, FindQuery } from '../src/store/store.js';

/**
 * FIND <class> [k = "v"] [NS.k ~ "regex"] [SORTTYPE t] [SORTPROP p]: `data.oidlist`.
 * On an array property `=` means "any element equals". No match answers a bare
 * 201 GOODBYE, as the reference does. Bounded: see src/dispatch/paging.ts.
 */
export const FIND: ReadCommand<{ cls: string; query: FindQuery; after?: FindCursor }> = {
  verb: 'FIND',
  kind: 'read',
  access: 'user',
  parse(input) {
    const t = new Tokens(input.tokens);
    return { cls: className(input, t), query: findQuery(t), after: parseCursor(input.envelope.after) };
  },
  async run(ctx, { cls, query, after }) {
    const page = await ctx.store.findPage(ctx.caller, cls, query, findBounds(ctx, after));
    if (page.oids.length === 0 && !page.more) return goodbye();
    return goodbye({ oidlist: oidList(ctx, page.oids), ...continuation(page) });
  },
};
