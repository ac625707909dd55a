/**
 * Replies in the Meeting document's shapes. Every failure is a thrown
 * `FacadeError` carrying its HTTP status and `{"error": "..."}` body; store
 * errors (CceError) are translated here, in one table (MEETING_ERRORS), so a
 * rule enforced by the store (type, uniqueness, maxlength, ACL, suspension,
 * a failed commit) answers the document's status.
 */
import type { z } from 'zod';
import { CceError, DeviceError, WHY_NOT_UNIQUE, type CceCode, type DeviceCode } from '../../errors.js';
import { WHY_SELF_REFERENCE, WHY_UNKNOWN_REFERENCE } from '../../store/references.js';
import type { said } from '../../api-reference/declaration.js';
import { REFUSED } from './refusals.js';

export class FacadeError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.error ?? status));
    this.name = 'FacadeError';
  }
}

export const fail = (status: number, error: string) => new FacadeError(status, { error });


/** Parses one part of a request with zod; the first issue is the 400's message. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, part: 'body' | 'query' | 'params'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : part;
  throw fail(400, `${where}: ${issue.message}`);
}

/** `302 BAD DATA <oid> <key> "<why>"` -> the property and the why. */
function badDataOf(err: CceError): { prop: string; why: string } | undefined {
  const m = /^BAD DATA \S+ (\S+) "(.*)"$/.exec(err.message);
  return m ? { prop: m[1]!, why: m[2]! } : undefined;
}

/** One fixed reply for the code, whatever the detail. */
const fixed = (r: ReturnType<typeof said>) => (): FacadeError => new FacadeError(r.status, { error: r.body.error });
/** The store's own words, for errors that only a request the facade passed on unchecked can cause. */
const verbatim = (status: number) => (err: CceError) => fail(status, err.message);

/** The document's words for the store's reference refusals (302 BAD DATA <oid> <property> "<why>"), by why and property. */
const REFERENCE_REPLIES: Record<string, Record<string, string>> = {
  [WHY_UNKNOWN_REFERENCE]: {
    device_type: REFUSED.unknownDeviceType.body.error,
    distribution: REFUSED.unknownDistribution.body.error,
    parent_device_key: REFUSED.parentNotFound.body.error,
  },
  [WHY_SELF_REFERENCE]: { parent_device_key: REFUSED.ownParent.body.error },
};

/**
 * Every code of the error tables (src/errors.ts: the CCE codes, then the
 * device domain's) as the Meeting document answers it; the README's error
 * table shows the same column for the CCE codes. Typed over every code, so a
 * new code does not compile until it is mapped here. A 5xx only where the
 * table's own HTTP status is one (309, 500, no free tunnel port): never for a
 * client's mistake.
 */
export const MEETING_ERRORS: { readonly [C in CceCode]: (err: CceError) => FacadeError } & { readonly [C in DeviceCode]: (err: DeviceError) => FacadeError } = {
  300: fixed(REFUSED.notFound),
  301: verbatim(400),
  302: (err) => {
    const bad = badDataOf(err);
    if (bad?.why === WHY_NOT_UNIQUE) return fail(409, `${bad.prop} already in use`);
    const reference = bad && REFERENCE_REPLIES[bad.why]?.[bad.prop];
    if (reference !== undefined) return fail(400, reference);
    return fail(400, bad ? `invalid ${bad.prop}` : err.message);
  },
  303: verbatim(400),
  304: fixed(REFUSED.permissionDenied),
  306: verbatim(400),
  309: fixed(REFUSED.suspended),
  401: fixed(REFUSED.unauthorized),
  402: verbatim(400),
  403: verbatim(400),
  404: fixed(REFUSED.notFound),
  409: verbatim(409),
  500: fixed(REFUSED.storageFailure),
  'device.unknown': fixed(REFUSED.deviceNotFound),
  'device.unauthorized': fixed(REFUSED.deviceNotAuthorized),
  'device.revoked': fixed(REFUSED.deviceRevoked),
  'device.no-tokens': fixed(REFUSED.noTokens),
  'device.offline': fixed(REFUSED.deviceOffline),
  'device-type.unknown': fixed(REFUSED.typeNotFound),
  'device-type.exists': fixed(REFUSED.typeExists),
  'device-type.not-a-fork': fixed(REFUSED.notAFork),
  'device-type.original-gone': fixed(REFUSED.originalGone),
  'distribution.exists': fixed(REFUSED.distributionExists),
  'ssh-key.taken': fixed(REFUSED.keyTaken),
  'tunnel.unknown': fixed(REFUSED.tunnelNotFound),
  'tunnel.no-free-port': fixed(REFUSED.noFreePort),
};

/** A store error as the document's reply (MEETING_ERRORS). */
export function fromStoreError(err: CceError): FacadeError {
  return MEETING_ERRORS[err.code](err);
}

/** A device domain refusal as the document's reply (MEETING_ERRORS). */
export function fromDeviceError(err: DeviceError): FacadeError {
  return MEETING_ERRORS[err.code](err);
}

/** Any error thrown by a handler as a FacadeError; undefined for an unexpected one (a 500). */
export function toFacadeError(err: unknown): FacadeError | undefined {
  if (err instanceof FacadeError) return err;
  if (err instanceof CceError) return fromStoreError(err);
  if (err instanceof DeviceError) return fromDeviceError(err);
  const e = err as { statusCode?: number; message?: string };
  // fastify's own refusals (malformed JSON, body too large, bad content type) keep their 4xx.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return fail(e.statusCode, e.message ?? 'Bad request');
  return undefined;
}

/** The document's timestamps: `2025-06-01 14:22:10`, UTC. */
export function meetingTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
