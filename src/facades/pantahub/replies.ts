/**
 * The Pantahub document's replies (seed 004): devices in its field names and
 * errors as `{"Error": "<text>"}`. Every code of the error tables that can
 * reach this facade is mapped in one table (PANTAHUB_REPLIES); a secret is
 * never part of a presentation (only the reply that set it adds it).
 */
import type { z } from 'zod';
import { CceError, PantahubError, WHY_NOT_UNIQUE, type PantahubCode } from '../../errors.js';
import { CredentialRefused } from '../../auth/credentials/index.js';
import type { PantahubDevice } from '../../devices/pantahub.js';

export class PantahubReply extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
    /** Seconds for a Retry-After header (a rate limit's 429). */
    readonly retryAfterS?: number,
  ) {
    super(text);
    this.name = 'PantahubReply';
  }
}

const PANTAHUB_REPLIES: { readonly [C in PantahubCode]: string } = {
  'pantahub.unknown': 'Not Found',
  'pantahub.bad-id': 'Invalid device id',
  'pantahub.bad-challenge': 'Invalid challenge',
  'pantahub.nick-taken': 'Device unique constraint violated',
  'pantahub.not-owner': 'Forbidden',
  'pantahub.bad-login': 'Incorrect Username or Password',
  'pantahub.claimed': 'Device already owned',
  'pantahub.unknown-token': 'Not Found',
  'pantahub.bad-auto-token': 'Invalid auto-assign token',
  'pantahub.too-many': 'Too Many Requests',
};

/** The store's refusals a Pantahub request can meet (a facade-checked body leaves few). */
function fromStore(err: CceError): PantahubReply {
  if (err.code === 309 || err.code === 500) return new PantahubReply(503, 'Service unavailable');
  if (err.code === 302 && err.message.includes(WHY_NOT_UNIQUE)) return new PantahubReply(409, PANTAHUB_REPLIES['pantahub.nick-taken']);
  if (err.code === 300 || err.code === 404) return new PantahubReply(404, 'Not Found');
  if (err.code === 304 || err.code === 401) return new PantahubReply(403, 'Forbidden');
  return new PantahubReply(400, err.message);
}

/** Any error of a handler as the document's reply; undefined for an unexpected one (a 500). */
export function toPantahubReply(err: unknown): PantahubReply | undefined {
  if (err instanceof PantahubReply) return err;
  if (err instanceof PantahubError) return new PantahubReply(err.http, PANTAHUB_REPLIES[err.code], err.retryAfterS);
  if (err instanceof CredentialRefused) return new PantahubReply(err.status, err.message);
  if (err instanceof CceError) return fromStore(err);
  const e = err as { statusCode?: number; message?: string };
  // fastify's own refusals (malformed JSON, body too large, bad content type) keep their 4xx.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new PantahubReply(e.statusCode, e.message ?? 'Bad request');
  return undefined;
}

/** One part of a request through its schema; the first issue is the 400's text. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, part: 'body' | 'query' | 'params'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new PantahubReply(400, `${issue.path.length ? issue.path.join('.') : part}: ${issue.message}`);
}

export const ownerPrn = (user: string) => (user === '' ? '' : `prn:pantahub.com:auth:/${user}`);
export const devicePrn = (id: string) => `prn:::devices:/${id}`;

/** A device in the seed's fields (never its secret; its challenge only when `withChallenge`). */
export function presentDevice(d: PantahubDevice, withChallenge = false): Record<string, unknown> {
  return {
    ...(withChallenge ? { challenge: d.challenge } : {}),
    'device-meta': d.deviceMeta,
    id: d.id,
    nick: d.nick,
    owner: ownerPrn(d.owner),
    prn: devicePrn(d.id),
    public: d.public,
    'time-created': d.timeCreated,
    'time-modified': d.timeModified,
    'user-meta': d.userMeta,
  };
}
