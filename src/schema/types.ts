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
  /** Must name an existing object (checked by the store on CREATE and SET); '' names none. */
  readonly references?: ReferenceDef;
  /** Not stored: another property of the namespace seen through a mapping of values (see DerivedDef). */
  readonly derived?: DerivedDef;
}

/**
 * A reference to another object by one of its properties: `Device.device_type`
 * names a DeviceType by its `name`. `match` narrows the target to those whose
 * properties equal the referring object's own (`{"device_type": "device_type"}`:
 * a distribution of the device's own type); `notSelf` refuses the object itself.
 * A soft-deleted target (ClassDef.softDelete) does not count.
 */
export interface ReferenceDef {
  readonly class: string;
  readonly property: string;
  /** target property -> own property */
  readonly match: Readonly<Record<string, string>>;
  readonly notSelf: boolean;
}

/**
 * A property that is another one seen differently (Meeting's `role` is
 * `systemAdministrator`: "admin" for 1, "user" for 0): reads map the source's
 * value, writes and FIND criteria map back to it, so the value is stored once.
 */
export interface DerivedDef {
  /** The stored property of the same namespace. */
  readonly from: string;
  /** derived value -> source value */
  readonly toSource: ReadonlyMap<string, string>;
  /** source value -> derived value */
  readonly fromSource: ReadonlyMap<string, string>;
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
  /**
   * A boolean property of the main namespace that marks an object deleted: DESTROY
   * sets it, FIND leaves such objects out unless a criterion names it, and a
   * CREATE whose unique value a deleted object holds revives that object.
   */
  readonly softDelete?: string;
  /** Includes the main namespace under ''. */
  readonly namespaces: ReadonlyMap<string, NamespaceDef>;
}

export interface Schema {
  readonly classes: ReadonlyMap<string, ClassDef>;
  readonly typedefs: ReadonlyMap<string, TypeDef>;
}
