import { classQuery } from '../src/dispatch/args.js';
import { ok, type ReadCommand } from '../src/dispatch/types.js';
import { objectData, presentValues } from '../src/dispatch/present.js';
import { plainOid } from '../src/store/writer.js';
import type { FindQuery } from '../src/store/store.js';

type GetAllArgs = { oids: number[] } | { cls: string; query: FindQuery };

/**
 * GETALL: every namespace of many objects in one round trip, by `oids` or by
 * class + `args`. `data.objects[oid] = {OBJECT: {...}, <NS>: {...}}`; unknown
 * oids are left out. Without valid credentials it answers as the reference
 * does: WHOAMI's envelope for nobody (`"oid":"-1"`), with HTTP 401.
 */
export const GETALL: ReadCommand<GetAllArgs> = {
  verb: 'GETALL',
  kind: 'read',
  access: 'user',
  unidentified: 'nobody',
  parse(input) {
    const oids = input.envelope.oids;
    if (oids !== undefined && input.tokens.length === 0) return { oids: oids.map(plainOid) };
    return classQuery(input);
  },
  run(ctx, args) {
    const oids = 'oids' in args ? args.oids : ctx.store.find(ctx.caller, args.cls, args.query);
    const objects: Record<string, Record<string, unknown>> = {};
    for (const [oid, { cls, namespaces }] of ctx.store.getMany(ctx.caller, oids)) {
      const entry: Record<string, unknown> = {};
      for (const [ns, values] of namespaces) {
        const nsDef = cls.namespaces.get(ns)!;
        entry[ns === '' ? 'OBJECT' : ns] =
          ns === '' ? objectData(ctx, { cls, ns: nsDef, oid, values }) : presentValues(ctx, nsDef, values);
      }
      objects[String(oid)] = entry;
    }
    return ok({ objects });
  },
};
