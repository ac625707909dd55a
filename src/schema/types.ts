/** The compiled schema: classes, namespaces, properties, typedefs and ACLs. */

/** Who an ACL is evaluated for. An anonymous caller has oid -1. */
export interface AclSubject {
  readonly oid: number;
  readonly admin: boolean;
  readonly capabilities: readonly string[];
}

/** A compiled ACL expression: may `subject` act on the object `target`? */
export type Acl = (subject: AclSubject, target: number) => boolean;

/** How a value of a type is shown with `"format":"json"`. */
export type JsonKind = 'string' | 'number' | 'boolean';

export interface TypeDef {
  readonly name: string;
  /** True when the (single, non-array) value is valid. */
  check(value: string): boolean;
  readonly json: JsonKind;
  /** The "why" of a 302 when check fails. */
  readonly message: string;
}

export interface PropertyDef {
  readonly name: string;
  readonly type: TypeDef;
  /** Canonical CCE string form (arrays as &a&b&). */
  readonly default: string;
  readonly optional: boolean;
  readonly array: boolean;
  readonly unique: boolean;
  readonly maxlength: number | undefined;
  readonly readacl: Acl;
  readonly writeacl: Acl;
  /** Write-only (type `password`): stored apart, never returned. */
  readonly writeOnly: boolean;
  /** Secret-like values that must never appear in a log line. */
  readonly secret: boolean;
}

export interface NamespaceDef {
  /** '' is the main namespace. */
  readonly name: string;
  readonly version: string;
  readonly properties: ReadonlyMap<string, PropertyDef>;
}

export interface ClassDef {
  readonly name: string;
  readonly version: string;
  readonly createacl: Acl;
  readonly destroyacl: Acl;
  /** Includes the main namespace under ''. */
  readonly namespaces: ReadonlyMap<string, NamespaceDef>;
}

export interface Schema {
  readonly classes: ReadonlyMap<string, ClassDef>;
  readonly typedefs: ReadonlyMap<string, TypeDef>;
}
