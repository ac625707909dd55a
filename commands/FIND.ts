import { Tokens, className, findQuery } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';
import { oidList } from '../src/dispatch/present.js';
import type { FindQuery } from '../src/store/store.js';

/**
 * FIND <class> [k = "v"] [NS.k ~ "regex"] [SORTTYPE t] [SORTPROP p]: `data.oidlist`.
 * On an array property `=` means "any element equals". No match answers a bare
 * 201 GOODBYE, as the reference does.
 */
export const FIND: ReadCommand<{ cls: string; query: FindQuery }> = {
  verb: 'FIND',
  kind: 'read',
  access: 'user',
  parse(input) {
    const t = new Tokens(input.tokens);
    return { cls: className(input, t), query: findQuery(t) };
  },
  run(ctx, { cls, query }) {
    const oids = ctx.store.find(ctx.caller, cls, query);
    return oids.length === 0 ? goodbye() : goodbye({ oidlist: oidList(ctx, oids) });
  },
};
