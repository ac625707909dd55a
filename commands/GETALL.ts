import { classQuery } from '../src/dispatch/args.js';
import { ok, type ReadCommand } from '../src/dispatch/types.js';
import { objectData, presentValues } from '../src/dispatch/present.js';
import { continuation, findBounds, parseCursor } from '../src/dispatch/paging.js';
import { plainOid } from '../src/store/writer.js';
import type { FindCursor, FindPage, FindQuery } from '../src/store/store.js';

type GetAllArgs = ({ oids: number[] } | { cls: string; query: FindQuery }) & { after?: FindCursor };

/**
 * GETALL: every namespace of many objects in one round trip, by `oids` or by
 * class + `args`. `data.objects[oid] = {OBJECT: {...}, <NS>: {...}}`; unknown
 * oids are left out. Without valid credentials it answers as the reference
 * does: WHOAMI's envelope for nobody (`"oid":"-1"`), with HTTP 401. Bounded
 * by count and by reply size: see src/dispatch/paging.ts.
 */
export const GETALL: ReadCommand<GetAllArgs> = {
  verb: 'GETALL',
  kind: 'read',
  access: 'user',
  unidentified: 'nobody',
  parse(input) {
    const after = parseCursor(input.envelope.after);
    const oids = input.envelope.oids;
    if (oids !== undefined && input.tokens.length === 0) return { oids: oids.map(plainOid), after };
    return { ...classQuery(input), after };
  },
  async run(ctx, args) {
    const page = 'oids' in args ? listPage(args.oids, args.after, ctx.config.max_results) : await ctx.store.findPage(ctx.caller, args.cls, args.query, findBounds(ctx, args.after));
    const objects: Record<string, Record<string, unknown>> = {};
    const found = await ctx.store.getMany(ctx.caller, page.oids);
    let bytes = 0;
    let shown = 0;
    // In the page's order, so the cursor of a cut continues right after the last object answered.
    for (const oid of page.oids) {
      if (shown > 0 && bytes >= ctx.config.max_reply_bytes) break;
      shown++;
      const object = found.get(oid);
      if (object === undefined) continue;
      const entry: Record<string, unknown> = {};
      for (const [ns, values] of object.namespaces) {
        const nsDef = object.cls.namespaces.get(ns)!;
        entry[ns === '' ? 'OBJECT' : ns] =
          ns === '' ? objectData(ctx, { cls: object.cls, ns: nsDef, oid, values }) : presentValues(ctx, nsDef, values);
        bytes += approximateBytes(values);
      }
      objects[String(oid)] = entry;
    }
    return ok({ objects, ...continuation(page, shown) });
  },
};

/** A page of an explicit oid list: `i:<n>` cursors count into the list. */
function listPage(oids: number[], after: FindCursor | undefined, limit: number): FindPage {
  const skip = after && 'skip' in after ? after.skip : 0;
  return { oids: oids.slice(skip, skip + limit), more: oids.length > skip + limit, resume: (i) => ({ skip: skip + i }) };
}

/** About the JSON size of a namespace's values: enough to bound a reply, without serialising it twice. */
function approximateBytes(values: Record<string, string>): number {
  let n = 16;
  for (const k in values) n += k.length + values[k]!.length + 6;
  return n;
}
