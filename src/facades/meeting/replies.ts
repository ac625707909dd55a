/**
 * Replies in the Meeting document's shapes. Every failure is a thrown
 * `FacadeError` carrying its HTTP status and `{"error": "..."}` body; store
 * errors (CceError) are translated here, in one place, so a rule enforced by
 * the store (type, uniqueness, maxlength, ACL) answers the document's status.
 */
import type { z } from 'zod';
import { CceError, WHY_NOT_UNIQUE } from '../../errors.js';

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

export const deviceNotFound = () => fail(404, 'Device not found');

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

/** A store error as the document's status: 404 unknown object, 409 taken, 400 invalid, 403 refused, 503 suspended. */
export function fromStoreError(err: CceError): FacadeError {
  switch (err.code) {
    case 300:
      return fail(404, 'Not found');
    case 302: {
      const bad = badDataOf(err);
      if (bad?.why === WHY_NOT_UNIQUE) return fail(409, `${bad.prop} already in use`);
      return fail(400, bad ? `invalid ${bad.prop}` : err.message);
    }
    case 304:
      return fail(403, 'Permission denied');
    case 309:
      return fail(503, 'Writes are suspended');
    default:
      return fail(400, err.message);
  }
}

/** Any error thrown by a handler as a FacadeError; undefined for an unexpected one (a 500). */
export function toFacadeError(err: unknown): FacadeError | undefined {
  if (err instanceof FacadeError) return err;
  if (err instanceof CceError) return fromStoreError(err);
  const e = err as { statusCode?: number; message?: string };
  // fastify's own refusals (malformed JSON, body too large, bad content type) keep their 4xx.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return fail(e.statusCode, e.message ?? 'Bad request');
  return undefined;
}

/** The document's timestamps: `2025-06-01 14:22:10`, UTC. */
export function meetingTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
