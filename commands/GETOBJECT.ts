import { checkName, classQuery } from '../src/dispatch/args.js';
import { ok, type ReadCommand } from '../src/dispatch/types.js';
import { objectData } from '../src/dispatch/present.js';
import type { FindQuery } from '../src/store/store.js';

/** GETOBJECT: the DATA of the first object of a class matching `args`, or 404 "Object not found". */
export const GETOBJECT: ReadCommand<{ cls: string; query: FindQuery; ns: string }> = {
  verb: 'GETOBJECT',
  kind: 'read',
  access: 'user',
  parse(input) {
    const ns = input.envelope.namespace ?? '';
    return { ...classQuery(input), ns: ns === '' ? '' : checkName(ns, 'namespace') };
  },
  async run(ctx, { cls, query, ns }) {
    // The first match only: the scan stops there.
    const [oid] = (await ctx.store.findPage(ctx.caller, cls, query, { limit: 1, maxScan: Infinity })).oids;
    if (oid === undefined) {
      ctx.store.namespaceDef(ctx.store.classDef(cls), ns);
      return { status: 404, message: 'Object not found' };
    }
    return ok({ DATA: objectData(ctx, await ctx.store.get(ctx.caller, oid, ns)) });
  },
};
