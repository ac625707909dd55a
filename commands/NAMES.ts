import { badParameters } from '../src/errors.js';
import { Tokens } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';

/** NAMES <oid | class>: the named namespaces, `data.namespaces`. */
export const NAMES: ReadCommand<string> = {
  verb: 'NAMES',
  kind: 'read',
  access: 'user',
  parse(input) {
    const t = new Tokens(input.tokens);
    const e = input.envelope;
    const target = t.done ? (e.class || e.oid) : t.word('an oid or a class');
    t.end();
    if (target === undefined || target === '') throw badParameters('expected an oid or a class');
    return target;
  },
  run: async (ctx, target) => goodbye({ namespaces: await ctx.store.names(target) }),
};
