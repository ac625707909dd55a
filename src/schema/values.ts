/**
 * Property values: CCE strings on the wire and in the store; arrays as `&a&b&`
 * with URL-encoded elements (`""` is the empty array). With `"format":"json"`
 * clients send and receive typed values instead.
 */
import type { PropertyDef } from './types.js';
import { WHY_INVALID_DATA } from '../errors.js';

export function encodeArray(items: readonly string[]): string {
  return items.length === 0 ? '' : '&' + items.map(encodeURIComponent).join('&') + '&';
}

/** Decodes `&a&b&`; returns undefined when the string is not in that form. */
export function decodeArray(value: string): string[] | undefined {
  if (value === '') return [];
  if (value.length < 2 || !value.startsWith('&') || !value.endsWith('&')) return undefined;
  try {
    return value.slice(1, -1).split('&').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** A JSON-typed element to its CCE string; undefined when the JSON type makes no sense. */
function elementFromJson(prop: PropertyDef, v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v) && prop.type.json === 'number') return String(v);
  if (typeof v === 'boolean' && prop.type.json === 'boolean') return v ? '1' : '0';
  return undefined;
}

/**
 * Any input value (a CCE string, or a typed JSON value) to the canonical CCE string.
 * Returns undefined when the value cannot be that property's (302 follows).
 */
export function toCceString(prop: PropertyDef, v: unknown): string | undefined {
  if (prop.array) {
    if (Array.isArray(v)) {
      const items = v.map((e) => elementFromJson(prop, e));
      return items.every((e) => e !== undefined) ? encodeArray(items as string[]) : undefined;
    }
    if (typeof v !== 'string') return undefined;
    return decodeArray(v) === undefined ? undefined : encodeArray(decodeArray(v)!);
  }
  return elementFromJson(prop, v);
}

function elementToJson(prop: PropertyDef, v: string): unknown {
  if (prop.type.json === 'number' && v !== '' && Number.isFinite(Number(v))) return Number(v);
  if (prop.type.json === 'boolean' && (v === '0' || v === '1')) return v === '1';
  return v;
}

/** A stored CCE string to its typed JSON value. */
export function toJsonValue(prop: PropertyDef | undefined, v: string): unknown {
  if (prop === undefined) return v;
  if (prop.array) return (decodeArray(v) ?? []).map((e) => elementToJson(prop, e));
  return elementToJson(prop, v);
}

/**
 * Does this text hold U+0000? No stored value does, whatever its type:
 * PostgreSQL's text cannot, and both backends keep the same values (an
 * array's elements are stored URL-encoded, so theirs may). A write of one is
 * refused (whyInvalid); a lookup by one finds nothing without asking the
 * database.
 */
export const holdsNul = (text: string): boolean => text.includes('\u0000');

/**
 * The longest value of a unique property, in UTF-8 bytes: PostgreSQL's unique
 * index holds an entry of at most about 2,700 bytes (less compressed), and
 * both backends keep the same values. SSH public keys up to RSA 8192 fit.
 */
export const MAX_UNIQUE_BYTES = 2000;

/** Why a canonical value breaks its property, or null when it is valid. */
export function whyInvalid(prop: PropertyDef, value: string): string | null {
  if (holdsNul(value)) return WHY_INVALID_DATA;
  if (prop.maxlength !== undefined && [...value].length > prop.maxlength) return '[[base-cce.tooLong]]';
  if (prop.unique && value.length > MAX_UNIQUE_BYTES / 3 && Buffer.byteLength(value) > MAX_UNIQUE_BYTES) return '[[base-cce.tooLong]]';
  const items = prop.array ? decodeArray(value)! : [value];
  for (const item of items) {
    if (item === '' && (prop.optional || prop.array)) continue;
    if (!prop.type.check(item)) return prop.type.message;
  }
  return null;
}
