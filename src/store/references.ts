/**
 * References declared in the schema (PropertyDef.references), checked by the
 * store on CREATE and SET whatever the door: a Device's `device_type` names a
 * live DeviceType, its `distribution` a Distribution of that type, its
 * `parent_device_key` another Device. A reference is checked when it is
 * written, or when a property its `match` depends on is (a new device_type
 * re-checks the distribution). '' names nothing and is always valid.
 *
 * A reference by `oid` (`"property": "oid"`: a DeviceType's `forked_from`)
 * names an object by its oid: it must be an object of the class, live or
 * soft-deleted (it records where something came from, which may be gone
 * since). Such values follow their object when an import gives it another
 * oid (oidReferences).
 */
import type { NamespaceDef, PropertyDef, Schema } from '../schema/types.js';
import { badData } from '../errors.js';
import type { FindCriterion } from './store.js';

/** The "why" of a 302 for a reference to nothing. */
export const WHY_UNKNOWN_REFERENCE = '[[base-cce.unknownReference]]';
/** The "why" of a 302 for an object that names itself where the schema says notSelf. */
export const WHY_SELF_REFERENCE = '[[base-cce.selfReference]]';

/** The property name of a reference by oid. */
export const OID = 'oid';

/** property written -> the referring properties of the namespace it may break, in schema order. */
const triggers = new WeakMap<NamespaceDef, ReadonlyMap<string, readonly PropertyDef[]>>();

/** Does writing any of `names` call for a reference check (a referring property, or one a reference matches on)? */
export function referencesChecked(nsDef: NamespaceDef, names: readonly string[]): boolean {
  const map = triggersOf(nsDef);
  return names.some((name) => map.has(name));
}

function triggersOf(nsDef: NamespaceDef): ReadonlyMap<string, readonly PropertyDef[]> {
  let map = triggers.get(nsDef);
  if (map === undefined) {
    const m = new Map<string, PropertyDef[]>();
    for (const p of nsDef.properties.values()) {
      if (!p.references) continue;
      for (const name of new Set([p.name, ...Object.values(p.references.match)])) {
        let list = m.get(name);
        if (list === undefined) m.set(name, (list = []));
        list.push(p);
      }
    }
    triggers.set(nsDef, (map = m));
  }
  return map;
}

/**
 * Throws 302 naming the first reference this write leaves dangling.
 * `own(name)`: the object's value of a main-namespace property once written.
 */
export async function checkReferences(
  nsDef: NamespaceDef,
  oid: number,
  written: Iterable<string>,
  own: (name: string) => string | Promise<string>,
  find: (className: string, criteria: FindCriterion[]) => Promise<number[]>,
  classOf: (oid: number) => Promise<string | undefined>,
): Promise<void> {
  const map = triggersOf(nsDef);
  if (map.size === 0) return;
  let due: Set<PropertyDef> | undefined;
  for (const name of written) for (const p of map.get(name) ?? []) (due ??= new Set()).add(p);
  if (due === undefined) return;
  for (const p of nsDef.properties.values()) {
    if (!due.has(p)) continue;
    const ref = p.references!;
    const value = await own(p.name);
    if (value === '') continue;
    if (ref.property === OID) {
      if (!/^[1-9][0-9]{0,15}$/.test(value) || (await classOf(Number(value))) !== ref.class) throw badData(oid, p.name, WHY_UNKNOWN_REFERENCE);
      continue;
    }
    if (ref.notSelf && (await own(ref.property)) === value) throw badData(oid, p.name, WHY_SELF_REFERENCE);
    const criteria: FindCriterion[] = [{ ns: '', name: ref.property, op: '=', value }];
    for (const [theirs, mine] of Object.entries(ref.match)) criteria.push({ ns: '', name: theirs, op: '=', value: await own(mine) });
    if ((await find(ref.class, criteria)).length === 0) throw badData(oid, p.name, WHY_UNKNOWN_REFERENCE);
  }
}

/**
 * Each class's place in an order where every class comes after the classes its
 * references name (a reference to its own class aside): the order an import
 * creates objects in, so a Device finds its DeviceType. Cycles keep file order.
 */
export function referenceRanks(schema: Schema): Map<string, number> {
  const ranks = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (name: string): number => {
    const known = ranks.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return 0;
    visiting.add(name);
    let rank = 0;
    for (const p of schema.classes.get(name)?.namespaces.get('')?.properties.values() ?? []) {
      if (p.references && p.references.class !== name) rank = Math.max(rank, visit(p.references.class) + 1);
    }
    visiting.delete(name);
    ranks.set(name, rank);
    return rank;
  };
  for (const name of schema.classes.keys()) visit(name);
  return ranks;
}

/** class -> its main-namespace properties whose value is the oid of another object (references by oid). */
export function oidReferences(schema: Schema): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const cls of schema.classes.values()) {
    for (const p of cls.namespaces.get('')?.properties.values() ?? []) {
      if (p.references?.property !== OID) continue;
      let names = out.get(cls.name);
      if (names === undefined) out.set(cls.name, (names = new Set()));
      names.add(p.name);
    }
  }
  return out;
}
