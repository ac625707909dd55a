/** Shapes store values for a reply: CCE strings, or typed values with "format":"json". */
import type { CommandContext } from './types.js';
import type { NamespaceDef } from '../schema/types.js';
import type { ObjectView } from '../store/store.js';
import { toJsonValue } from '../schema/values.js';

export function presentValues(ctx: Pick<CommandContext, 'format'>, ns: NamespaceDef, values: Record<string, string>): Record<string, unknown> {
  if (ctx.format !== 'json') return values;
  // A clone filled in place keeps the fast properties of `values` (see objectData).
  const out: Record<string, unknown> = { ...values };
  for (const k in values) out[k] = toJsonValue(ns.properties.get(k), values[k]!);
  return out;
}

/**
 * The DATA of GET and GETOBJECT, as the reference shows it: the main namespace
 * carries CLASS, CLASSVER, NAMESPACE and OID; a named one CLASSVER and NAMESPACE.
 */
export function objectData(ctx: Pick<CommandContext, 'format'>, view: ObjectView): Record<string, unknown> {
  // A literal with a spread keeps V8's fast properties (Store.readable's values have them); adding the
  // values key by key to the meta object would turn it into a slow dictionary past a dozen keys.
  const values = presentValues(ctx, view.ns, view.values);
  return view.ns.name === ''
    ? { CLASS: view.cls.name, CLASSVER: view.cls.version, NAMESPACE: '', OID: ctx.format === 'json' ? view.oid : String(view.oid), ...values }
    : { CLASSVER: view.ns.version, NAMESPACE: view.ns.name, ...values };
}

/** Oids as the reference lists them: strings (numbers with "format":"json"). */
export function oidList(ctx: Pick<CommandContext, 'format'>, oids: readonly number[]): unknown[] {
  return ctx.format === 'json' ? [...oids] : oids.map(String);
}
