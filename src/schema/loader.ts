/**
 * Loads the declarative class definitions (`schema/*.json`), checks them with
 * zod and compiles them. A later file may extend a class an earlier one
 * defined (`"extend": true`): new properties and namespaces are added.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { compileAcl, AclSyntaxError } from './acl.js';
import { BASE_TYPEDEFS } from './typedefs.js';
import { toCceString, whyInvalid } from './values.js';
import type { ClassDef, JsonKind, NamespaceDef, PropertyDef, Schema, TypeDef } from './types.js';

export class SchemaError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const jsonDefault = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]);

const propertyFile = z.strictObject({
  type: z.string().default('scalar'),
  default: jsonDefault.optional(),
  optional: z.boolean().default(false),
  array: z.boolean().default(false),
  unique: z.boolean().default(false),
  maxlength: z.number().int().positive().optional(),
  readacl: z.string().optional(),
  writeacl: z.string().optional(),
  secret: z.boolean().default(false),
  description: z.string().optional(),
  references: z
    .strictObject({
      class: z.string().regex(NAME),
      property: z.string().regex(NAME),
      match: z.record(z.string().regex(NAME), z.string().regex(NAME)).default({}),
      notSelf: z.boolean().default(false),
    })
    .optional(),
  derivedFrom: z.strictObject({ property: z.string().regex(NAME), values: z.record(z.string(), z.string()) }).optional(),
});

const propertiesFile = z.record(z.string().regex(NAME, 'property names are letters, digits and _'), propertyFile);

const namespaceFile = z.strictObject({
  version: z.string().default('1.0'),
  properties: propertiesFile.default({}),
});

const classFile = z.strictObject({
  class: z.string().regex(NAME, 'class names are letters, digits and _'),
  extend: z.boolean().default(false),
  version: z.string().default('1.0'),
  description: z.string().optional(),
  createacl: z.string().optional(),
  destroyacl: z.string().optional(),
  softDelete: z.string().regex(NAME).optional(),
  properties: propertiesFile.default({}),
  namespaces: z.record(z.string().regex(NAME, 'namespace names are letters, digits and _'), namespaceFile).default({}),
});

const schemaFile = z.strictObject({
  typedefs: z
    .record(
      z.string().regex(NAME),
      z.strictObject({ pattern: z.string(), json: z.enum(['string', 'number', 'boolean']).default('string'), message: z.string().optional() }),
    )
    .default({}),
  classes: z.array(classFile).default([]),
});

type ClassFile = z.output<typeof classFile>;
type PropFile = z.output<typeof propertyFile>;

interface MutableClass {
  name: string;
  version: string;
  createacl: ClassDef['createacl'];
  destroyacl: ClassDef['destroyacl'];
  softDelete?: string;
  namespaces: Map<string, { name: string; version: string; properties: Map<string, PropertyDef> }>;
}

function compileProperty(where: string, name: string, p: PropFile, typedefs: Map<string, TypeDef>): PropertyDef {
  const type = typedefs.get(p.type);
  if (!type) throw new SchemaError(`${where}: unknown type "${p.type}"`);
  const acl = (expr: string | undefined, fallback: 'user' | 'admin', which: string) => {
    try {
      return compileAcl(expr, fallback);
    } catch (err) {
      if (err instanceof AclSyntaxError) throw new SchemaError(`${where}: ${which}: ${err.message}`);
      throw err;
    }
  };
  const draft: PropertyDef = {
    name,
    type,
    default: '',
    optional: p.optional,
    array: p.array,
    unique: p.unique,
    maxlength: p.maxlength,
    readacl: acl(p.readacl, 'user', 'readacl'),
    writeacl: acl(p.writeacl, 'admin', 'writeacl'),
    writeOnly: p.type === 'password',
    secret: p.secret || p.type === 'password',
    ...(p.references ? { references: p.references } : {}),
    ...(p.derivedFrom ? { derived: derivedDef(where, p.derivedFrom) } : {}),
  };
  if (p.default === undefined) return draft;
  const value = toCceString(draft, p.default);
  if (value === undefined || whyInvalid(draft, value) !== null) throw new SchemaError(`${where}: default ${JSON.stringify(p.default)} is not a valid ${p.type}`);
  return { ...draft, default: value };
}

function derivedDef(where: string, d: { property: string; values: Record<string, string> }) {
  const toSource = new Map(Object.entries(d.values));
  const fromSource = new Map([...toSource].map(([k, v]) => [v, k]));
  if (fromSource.size !== toSource.size) throw new SchemaError(`${where}: derivedFrom: two values map to the same source value`);
  return { from: d.property, toSource, fromSource };
}

function addClass(classes: Map<string, MutableClass>, file: string, c: ClassFile, typedefs: Map<string, TypeDef>) {
  const where = `${file}: ${c.class}`;
  let cls = classes.get(c.class);
  if (c.extend && !cls) throw new SchemaError(`${where}: extends a class that is not defined before it`);
  if (!c.extend && cls) throw new SchemaError(`${where}: defined twice (use "extend": true to add to it)`);
  if (!cls) {
    cls = {
      name: c.class,
      version: c.version,
      createacl: compileAclOr(where, 'createacl', c.createacl),
      destroyacl: compileAclOr(where, 'destroyacl', c.destroyacl),
      namespaces: new Map([['', { name: '', version: c.version, properties: new Map() }]]),
    };
    classes.set(c.class, cls);
  }
  if (c.softDelete !== undefined) cls.softDelete = c.softDelete;
  const add = (ns: string, version: string, props: Record<string, PropFile>) => {
    let target = cls.namespaces.get(ns);
    if (!target) cls.namespaces.set(ns, (target = { name: ns, version, properties: new Map() }));
    for (const [name, p] of Object.entries(props)) {
      const pwhere = `${where}.${ns ? ns + '.' : ''}${name}`;
      if (target.properties.has(name)) throw new SchemaError(`${pwhere}: defined twice`);
      target.properties.set(name, compileProperty(pwhere, name, p, typedefs));
    }
  };
  add('', c.version, c.properties);
  for (const [ns, def] of Object.entries(c.namespaces)) add(ns, def.version, def.properties);
}

/** References, derived properties and soft-delete flags name what exists, once every file is read. */
function checkLinks(cls: MutableClass, classes: Map<string, MutableClass>): void {
  const main = cls.namespaces.get('')!.properties;
  if (cls.softDelete !== undefined && main.get(cls.softDelete)?.type.name !== 'boolean') {
    throw new SchemaError(`${cls.name}: softDelete: ${cls.softDelete} is not a boolean property of the class`);
  }
  for (const ns of cls.namespaces.values()) {
    for (const p of ns.properties.values()) {
      const where = `${cls.name}.${ns.name ? ns.name + '.' : ''}${p.name}`;
      if (p.derived) {
        const source = ns.properties.get(p.derived.from);
        if (!source || source.derived || source.array || source.writeOnly) throw new SchemaError(`${where}: derivedFrom: ${p.derived.from} is not a stored property beside it`);
        for (const [mine, theirs] of p.derived.toSource) {
          if (!p.type.check(mine) || !source.type.check(theirs)) throw new SchemaError(`${where}: derivedFrom: ${mine} -> ${theirs} breaks a type`);
        }
        if (!p.derived.fromSource.has(source.default)) throw new SchemaError(`${where}: derivedFrom: the default of ${p.derived.from} maps to nothing`);
      }
      const ref = p.references;
      if (!ref) continue;
      const target = classes.get(ref.class)?.namespaces.get('')!.properties;
      // `oid`: the object itself, by its oid (src/store/references.ts).
      const byOid = ref.property === 'oid';
      if (!target || (!byOid && !target.has(ref.property))) throw new SchemaError(`${where}: references ${ref.class}.${ref.property}, which is not defined`);
      if (byOid && (p.type.name !== 'uint' || ref.notSelf || Object.keys(ref.match).length > 0)) {
        throw new SchemaError(`${where}: a reference by oid is a uint property, without match or notSelf`);
      }
      if (ns.name !== '' || p.array) throw new SchemaError(`${where}: only single main-namespace properties may be references`);
      if (ref.notSelf && ref.class !== cls.name) throw new SchemaError(`${where}: references: notSelf needs a reference to the class itself`);
      for (const [theirs, mine] of Object.entries(ref.match)) {
        if (!target.has(theirs) || !main.has(mine)) throw new SchemaError(`${where}: references: match ${theirs} = ${mine} names an undefined property`);
      }
    }
  }
}

function compileAclOr(where: string, which: string, expr: string | undefined) {
  try {
    return compileAcl(expr, 'admin');
  } catch (err) {
    throw new SchemaError(`${where}: ${which}: ${(err as Error).message}`);
  }
}

function readSchemaFile(file: string): z.output<typeof schemaFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SchemaError(`${file}: ${(err as Error).message}`);
  }
  const parsed = schemaFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SchemaError(`${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Loads every *.json of each folder, folders in order, files by name. */
export function loadSchema(dirs: readonly string[]): Schema {
  const typedefs = new Map<string, TypeDef>(BASE_TYPEDEFS.map((t) => [t.name, t]));
  const classes = new Map<string, MutableClass>();
  const files: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      throw new SchemaError(`${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    files.push(...names.map((n) => path.join(dir, n)));
  }
  const parsed = files.map((f) => [f, readSchemaFile(f)] as const);
  // Typedefs first, so a class may use a type defined in any file.
  for (const [file, s] of parsed) {
    for (const [name, t] of Object.entries(s.typedefs)) {
      if (typedefs.has(name)) throw new SchemaError(`${file}: typedef ${name} defined twice`);
      let re: RegExp;
      try {
        re = new RegExp(t.pattern, 'u');
      } catch (err) {
        throw new SchemaError(`${file}: typedef ${name}: ${(err as Error).message}`);
      }
      typedefs.set(name, { name, json: t.json as JsonKind, message: t.message ?? '[[base-cce.invalidData]]', check: (v) => re.test(v) });
    }
  }
  for (const [file, s] of parsed) for (const c of s.classes) addClass(classes, file, c, typedefs);
  for (const cls of classes.values()) checkLinks(cls, classes);
  return { classes: classes as Map<string, ClassDef>, typedefs };
}

export type { ClassDef, NamespaceDef, PropertyDef, Schema };
