/**
 * Derived properties (PropertyDef.derived): a property that is another one
 * seen through a mapping of values, so the value is stored once. Writes and
 * FIND criteria are turned into the source property's before anything else
 * looks at them; reads map the source's value.
 */
import type { NamespaceDef, PropertyDef } from '../schema/types.js';
import { toCceString, whyInvalid } from '../schema/values.js';
import { WHY_INVALID_DATA, badData } from '../errors.js';
import type { FindCriterion } from './store.js';

/** Does this namespace have any derived property? Remembered: asked on every write. */
const hasDerived = new WeakMap<NamespaceDef, boolean>();

function anyDerived(nsDef: NamespaceDef): boolean {
  let known = hasDerived.get(nsDef);
  if (known === undefined) hasDerived.set(nsDef, (known = [...nsDef.properties.values()].some((p) => p.derived !== undefined)));
  return known;
}

/**
 * Values with each derived property replaced by its source (302 for a value
 * the mapping does not know, or one that contradicts the source given beside it).
 * Returns `values` itself when the namespace has no derived property.
 */
export function underive(nsDef: NamespaceDef, values: Record<string, unknown>, oid: number | string): Record<string, unknown> {
  if (!anyDerived(nsDef)) return values;
  let out: Record<string, unknown> | undefined;
  for (const [key, raw] of Object.entries(values)) {
    const prop = nsDef.properties.get(key);
    if (prop?.derived === undefined) continue;
    const label = nsDef.name ? `${nsDef.name}.${key}` : key;
    const value = toCceString(prop, raw);
    const why = value === undefined ? WHY_INVALID_DATA : whyInvalid(prop, value);
    const source = value === undefined ? undefined : prop.derived.toSource.get(value);
    if (why !== null || source === undefined) throw badData(oid, label, why ?? WHY_INVALID_DATA);
    out ??= { ...values };
    delete out[key];
    const given = out[prop.derived.from];
    if (given !== undefined && toCceString(nsDef.properties.get(prop.derived.from)!, given) !== source) throw badData(oid, label, WHY_INVALID_DATA);
    out[prop.derived.from] = source;
  }
  return out ?? values;
}

/** The value a derived property shows for the stored value of its source. */
export function derivedValue(prop: PropertyDef, source: string | undefined, sourceDefault: string): string {
  return prop.derived!.fromSource.get(source ?? sourceDefault) ?? prop.default;
}

/**
 * A FIND criterion on a derived property as one on its source: `role = "admin"`
 * is `systemAdministrator = "1"`, and `role ~ "^ad"` is an equality on every
 * source value whose mapped value matches. `null` when nothing can match;
 * undefined when every object matches (the criterion drops out).
 */
export function underivedCriterion(prop: PropertyDef, c: FindCriterion, matches: (pattern: string, value: string) => boolean): FindCriterion[] | null {
  const d = prop.derived!;
  const sources = c.op === '=' ? [d.toSource.get(c.value)].filter((v) => v !== undefined) : [...d.toSource].filter(([mine]) => matches(c.value, mine)).map(([, theirs]) => theirs);
  if (sources.length === 0) return null;
  if (sources.length === d.toSource.size) return [];
  if (sources.length === 1) return [{ ns: c.ns, name: d.from, op: '=', value: sources[0]! }];
  // Several but not all: an anchored alternation of the exact source values.
  return [{ ns: c.ns, name: d.from, op: '~', value: `^(?:${sources.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$` }];
}
