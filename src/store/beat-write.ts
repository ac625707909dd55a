/**
 * What a heartbeat writes (StoreTx.beat): a routine SET of two values of an
 * object's main namespace, `last_seen` and `ip_address`, at fleet rate. When
 * both are plain values (not derived, unique, write-only, arrays, nor part of
 * a reference), the generic SET's steps that cannot apply to them are skipped
 * (underive, canonicalise into maps, reference and uniqueness checks,
 * credentials) and the backend writes them in one call (port putBeat); every
 * rule that can apply (the write ACL, the type checks, the write listeners:
 * change log, caches, audit) still runs, so every door reads the same answer.
 * Any other schema takes the generic SET.
 */
import type { NamespaceDef } from '../schema/types.js';
import { referencesChecked } from './references.js';

/** The beat's time: every beat writes it (the change log records it at most once per interval). */
export const BEAT_CLOCK = 'last_seen';
export const BEAT_ADDRESS = 'ip_address';
export const BEAT_PROPERTIES: readonly string[] = [BEAT_CLOCK, BEAT_ADDRESS];

const plain = new WeakMap<NamespaceDef, boolean>();

/** Can a beat of this namespace take the narrow write? Decided once per namespace (the schema is fixed). */
export function narrowBeat(nsDef: NamespaceDef): boolean {
  let known = plain.get(nsDef);
  if (known === undefined) {
    known = BEAT_PROPERTIES.every((name) => {
      const p = nsDef.properties.get(name);
      return p !== undefined && p.derived === undefined && !p.unique && !p.writeOnly && !p.array;
    }) && !referencesChecked(nsDef, BEAT_PROPERTIES);
    plain.set(nsDef, known);
  }
  return known;
}
