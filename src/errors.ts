/**
 * Every CCE error code the daemon can answer, in one table.
 *
 * A command fails by throwing a `CceError`; the dispatcher turns it into the
 * reference's reply shape and picks the HTTP status from this table, in one
 * place (src/dispatch/reply.ts); each REST facade maps every code to its own
 * document's reply in one place too (src/facades/meeting/replies.ts).
 * `test/errors.test.ts` checks both directions: every code here is documented
 * in docs/errors.md's table, and every code that table lists is here.
 */

export interface ErrorSpec {
  /** The CCE status word(s) that start the message. */
  readonly word: string;
  /** HTTP status of a reply whose first error carries this code. */
  readonly http: number;
  /** What it means, as documented in docs/errors.md. */
  readonly meaning: string;
}

export const ERROR_CODES = {
  300: { word: 'UNKNOWN OBJECT', http: 404, meaning: 'no object has this oid' },
  301: { word: 'UNKNOWN CLASS', http: 404, meaning: 'no class has this name' },
  302: { word: 'BAD DATA', http: 422, meaning: 'a value breaks its property type, uniqueness or an unknown property was named' },
  303: { word: 'UNKNOWN NAMESPACE', http: 404, meaning: 'the class has no such namespace' },
  304: { word: 'PERMISSION DENIED', http: 403, meaning: 'an ACL refuses the caller' },
  306: { word: 'ERROR', http: 400, meaning: 'the command line could not be parsed (followed by 402)' },
  309: { word: 'SUSPENDED', http: 503, meaning: 'writes are suspended by SUSPEND' },
  401: { word: 'FAIL', http: 401, meaning: 'authentication failed; also ends the error list of every failed command' },
  402: { word: 'BAD COMMAND', http: 400, meaning: 'unknown verb, or a verb not valid now' },
  403: { word: 'BAD PARAMETERS', http: 400, meaning: 'wrong number, shape or type of arguments' },
  404: { word: 'Object not found', http: 404, meaning: 'GETOBJECT matched nothing' },
  409: { word: 'TRANSACTION FAILED', http: 409, meaning: 'a COMMIT failed and nothing of it was applied' },
  // Not the client's doing: the only code that answers a 5xx besides 309. Outside the CCE ranges on purpose,
  // so that no client reads it as a parse error (306) and retries the same line unchanged forever.
  500: { word: 'STORAGE FAILURE', http: 503, meaning: 'the store could not begin, commit or sync a transaction: nothing of the write is durable' },
} as const satisfies Record<number, ErrorSpec>;

export type CceCode = keyof typeof ERROR_CODES;

/** One entry of a reply's `data.errors`. */
export interface ErrorItem {
  code: number;
  message: string;
}

/** A command failure with a stable CCE code; `items` may carry several errors (e.g. 306 then 402). */
export class CceError extends Error {
  readonly code: CceCode;
  readonly items: ErrorItem[];

  constructor(code: CceCode, detail?: string, more: ErrorItem[] = []) {
    const message = detail === undefined || detail === '' ? ERROR_CODES[code].word : `${ERROR_CODES[code].word} ${detail}`;
    super(message);
    this.name = 'CceError';
    this.code = code;
    this.items = [{ code, message }, ...more];
  }
}

export const unknownObject = (oid: string | number) => new CceError(300, String(oid));
export const unknownClass = (cls: string) => new CceError(301, cls);
export const unknownNamespace = (ns: string) => new CceError(303, ns);
export const permissionDenied = (what: string) => new CceError(304, what);
export const badParameters = (why?: string) => new CceError(403, why);
export const badCommand = (why?: string) => new CceError(402, why);

/** `302 BAD DATA <oid> <key> "<why>"`, the reference's exact form. */
export function badData(oid: string | number, key: string, why: string): CceError {
  return new CceError(302, `${oid} ${key} ${JSON.stringify(why)}`);
}

export const WHY_UNKNOWN_ATTR = '[[base-cce.unknownAttr]]';
export const WHY_INVALID_DATA = '[[base-cce.invalidData]]';
export const WHY_NOT_UNIQUE = '[[base-cce.notUnique]]';

/**
 * A transaction the store could not begin (locked by another process), commit
 * or fsync (disk full, I/O error): the write is not durable and the client may
 * retry later. After a failed fsync every write
 * answers this until the daemon restarts (src/store/writer.ts).
 */
export const storageFailure = (why: string) => new CceError(500, why);

/** A line that does not lex answers 306 then 402. */
export function parseError(why: string): CceError {
  return new CceError(306, why, [{ code: 402, message: ERROR_CODES[402].word }]);
}

/**
 * A refusal at the transport level, answered with a bare HTTP status instead of
 * an envelope (DESIGN.md: "401 bad client secret, 429 banned"). Commands and the
 * gate throw it; src/http/refusal.ts is the one place that turns it into a reply.
 */
export class Refusal extends Error {
  constructor(
    readonly kind: 'client-secret' | 'banned',
    /** For `banned`: whole seconds until the ban ends. */
    readonly retryAfterS = 0,
  ) {
    super(kind === 'banned' ? 'banned' : 'invalid client secret');
    this.name = 'Refusal';
  }
}

/** What a domain code means: the HTTP status of a door without a document of its own, and its meaning (docs). */
export interface CodeSpec {
  readonly http: number;
  readonly meaning: string;
}

/**
 * A domain's refusal by a stable code of its own table (below): `code`, the
 * table's `http` status and a message of the code and its meaning. Each
 * domain's class is made over its table by codedError(); each facade answers
 * every code in its document's shape from a table of its own.
 */
export abstract class CodedError<C extends string = string> extends Error {
  readonly http: number;

  protected constructor(
    readonly code: C,
    spec: CodeSpec,
    name: string,
    /** A rate limit's refusal: whole seconds until the caller may try again (a Retry-After header). */
    readonly retryAfterS?: number,
  ) {
    super(`${code}: ${spec.meaning}`);
    this.name = name;
    this.http = spec.http;
  }
}

/** The error class of a domain over its code table: `new X(code)` takes a code of that table only. */
function codedError<T extends Readonly<Record<string, CodeSpec>>>(name: string, table: T) {
  return class extends CodedError<keyof T & string> {
    constructor(code: keyof T & string, retryAfterS?: number) {
      super(code, table[code]!, name, retryAfterS);
    }
  };
}

/**
 * The device domain's refusals (src/devices), by stable name. The CCE codes
 * above stay the reference's; no /v2/cce command raises these. Each REST
 * facade answers every one in its document's shape from its own table (the
 * Meeting API: MEETING_ERRORS), so a new code does not compile until each
 * facade maps it.
 */
export const DEVICE_ERRORS = {
  'device.unknown': { http: 404, meaning: 'no device has this device_key' },
  'device.unauthorized': { http: 403, meaning: 'the device is not authorized (authorized=0) for what it asked' },
  'device.revoked': { http: 403, meaning: 'the device is revoked' },
  'device.no-tokens': { http: 403, meaning: 'the device has no flash tokens left (token_count=0)' },
  'device.offline': { http: 403, meaning: 'the device has not sent a heartbeat within tunnel_max_last_seen' },
  'device-type.unknown': { http: 404, meaning: 'no live (not soft-deleted) device type has this id or name' },
  'device-type.exists': { http: 409, meaning: 'a device type of this name exists' },
  'device-type.not-a-fork': { http: 400, meaning: 'a merge asked for a device type that is not a fork' },
  'device-type.original-gone': { http: 404, meaning: 'the original of a fork to merge is deleted or gone' },
  'distribution.exists': { http: 409, meaning: 'the device type has a distribution of this name' },
  'ssh-key.taken': { http: 409, meaning: 'the public key is registered to another device' },
  'tunnel.unknown': { http: 404, meaning: 'the device has no live tunnel for this service and port' },
  'tunnel.no-free-port': { http: 503, meaning: 'every port of tunnel_port_min..tunnel_port_max is taken' },
} as const satisfies Record<string, CodeSpec>;

export type DeviceCode = keyof typeof DEVICE_ERRORS;

/** A refusal of the device domain, by code (DEVICE_ERRORS). */
export class DeviceError extends codedError('DeviceError', DEVICE_ERRORS) {}

/**
 * The Pantahub device registry's refusals (src/devices/pantahub.ts), by stable
 * name; the Pantahub facade answers each as `{"Error": ...}` with `http`.
 */
export const PANTAHUB_ERRORS = {
  // Finding a device: an unknown id and another owner's private device are one answer, so ids cannot be probed.
  'pantahub.unknown': { http: 404, meaning: 'no device with this id that the caller may see' },
  'pantahub.bad-id': { http: 400, meaning: 'the id is not 24 lowercase hex digits' },
  // Claiming and naming.
  'pantahub.bad-challenge': { http: 403, meaning: 'the challenge is wrong, used or expired, or the device is owned' },
  'pantahub.nick-taken': { http: 409, meaning: 'the owner has another device of this nick' },
  // Changing a device: a public device is visible to all, changeable by its owner (user-meta, nick, public) or itself (device-meta).
  'pantahub.not-owner': { http: 403, meaning: 'the device is visible to the caller but not the caller\'s to change' },
  // Logging in (a user or a device): one answer whichever part was wrong.
  'pantahub.bad-login': { http: 401, meaning: 'no user or device with these credentials' },
  // Refreshing a challenge: only an unclaimed device has one.
  'pantahub.claimed': { http: 409, meaning: 'the device is owned: it has no challenge to refresh' },
  // Factory tokens: another owner's token is as unknown as a missing one.
  'pantahub.unknown-token': { http: 404, meaning: 'no factory token with this id that the caller owns' },
  'pantahub.bad-auto-token': { http: 403, meaning: 'the auto-assign token is unknown, disabled, expired or used up' },
  // Rate limits (src/devices/pantahub-limits.ts): too many anonymous registrations from an address, or failed claims of a device.
  'pantahub.too-many': { http: 429, meaning: 'too many attempts; retry after the Retry-After seconds' },
} as const satisfies Record<string, CodeSpec>;

export type PantahubCode = keyof typeof PANTAHUB_ERRORS;

/** A refusal of the Pantahub registry, by code (PANTAHUB_ERRORS). */
export class PantahubError extends codedError('PantahubError', PANTAHUB_ERRORS) {}
