/**
 * The words the generators build requests from: verbs from the command table,
 * classes, namespaces and properties from the schema the daemon loads, the
 * world's oids and device key, and values each type accepts or refuses. Taken
 * from the code, not copied, so a new verb or property is fuzzed the day it lands.
 */
import fc from 'fast-check';
import { COMMAND_TABLE } from '../../commands/index.js';
import { resolveConfig } from '../../src/config/load.js';
import { loadSchema } from '../../src/schema/loader.js';
import { SORT_TYPES } from '../../src/store/sort.js';
import type { World } from './world.js';

export type Identity = 'admin' | 'user' | 'anonymous' | 'forged';

export interface Vocabulary {
  verbs: string[];
  classes: string[];
  namespaces: string[];
  properties: string[];
  sortTypes: string[];
  deviceKey: string;
  deviceToken: string;
  /** A Pantahub device id the fuzz user owns. */
  pantahubId: string;
  /** Known-bad regular expressions and long values to run them on (off: a run that looks past issue-sized hangs). */
  heavy: boolean;
  /** oids a writer may aim at, per identity (the admin's leave out what the harness stands on). */
  oids: Record<Identity, string[]>;
}

export function vocabulary(world: Pick<World, 'protectedOids' | 'targets' | 'device' | 'heavy' | 'pantahub'>): Vocabulary {
  const schema = loadSchema(resolveConfig({}).schema_dir);
  const classes = [...schema.classes.keys()];
  const namespaces = new Set<string>();
  const properties = new Set<string>();
  for (const c of schema.classes.values()) {
    for (const [ns, def] of c.namespaces) {
      if (ns !== '') namespaces.add(ns);
      for (const p of def.properties.keys()) properties.add(p);
    }
  }
  const everyone = [...world.targets, ...world.protectedOids, '2', '3', '4'];
  return {
    verbs: [...COMMAND_TABLE.keys()],
    classes,
    namespaces: [...namespaces],
    properties: [...properties, 'oldpassword', 'CLASS', 'OID', 'NAMESPACE', '__proto__', 'constructor'],
    sortTypes: [...SORT_TYPES],
    heavy: world.heavy,
    deviceKey: world.device.key,
    deviceToken: world.device.token,
    pantahubId: world.pantahub.deviceId,
    oids: {
      admin: world.targets,
      user: everyone,
      anonymous: everyone,
      forged: everyone,
    },
  };
}

/** Strings that tend to break parsers, encoders and limits. */
export const nasty: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '', ' ', '0', '-1', '1e309', 'NaN', 'null', 'true', '&', '&&', '&a&b&', '%', '%zz', '%00', '\u0000', '\n', '\r\n', '\t',
    '"', '\\', "'", '..', '../..', '/etc/passwd', '$0', '$99', '$x', '${1}', '__proto__', '{"a":1}', '[]', 'é✓€𝄞', '\u202e', '\ufeff',
    '\ud800', 'a'.repeat(1025), 'x'.repeat(70_000), '9'.repeat(40), '10.0.0.1', '::1', '256.1.1.1', 'a@b.c', 'host.example.com',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl c', '2025-06-01T10:00:00Z',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom('a', 'A', '0', '-', '_', '.', ' ', '&', '%', '"', '\\'), maxLength: 30 }),
);

/** Any JSON value, with the nasty strings inside. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nasty },
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
  fc.array(nasty, { maxLength: 4 }),
);
