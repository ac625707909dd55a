/**
 * Errors to replies, in one place. A failed command answers the reference's
 * shape, `{"status":401,"message":"GOODBYE","data":{"errors":[..., {401 FAIL}]}}`,
 * and the HTTP status comes from the first error's code (src/errors.ts).
 */
import { CceError, ERROR_CODES, type CceCode, type ErrorItem } from '../errors.js';
import type { Reply } from './types.js';

const FAIL: ErrorItem = Object.freeze({ code: 401, message: 'FAIL' });

export function failure(items: ErrorItem[], extra: Record<string, unknown> = {}): Reply {
  const errors = items.length > 0 && items[items.length - 1]!.code === 401 ? items : [...items, FAIL];
  return { status: 401, message: 'GOODBYE', data: { errors, ...extra } };
}

/** WHOAMI's answer for a caller it cannot identify, exactly as the reference gives it (seed 002). */
export function nobody(): Reply {
  return { status: 201, message: 'GOODBYE', data: { errors: [FAIL], oid: '-1' } };
}

/**
 * A caller without valid credentials, refused by a command that the reference
 * answers with WHOAMI's "nobody" envelope (GETALL, seed 002) rather than the
 * usual failure. A command names it as its `unidentified` refusal.
 */
export class Unidentified extends CceError {
  constructor() {
    super(401);
  }
}

/**
 * Replies whose envelope looks like a success (status 201) yet refuse the
 * caller: their HTTP status is the error's, so `curl --fail` sees the refusal.
 * Remembered by identity, so the envelope stays byte for byte the reference's.
 */
const REFUSALS = new WeakSet<Reply>();

export function errorReply(err: CceError): Reply {
  if (!(err instanceof Unidentified)) return failure(err.items);
  const reply = nobody();
  REFUSALS.add(reply);
  return reply;
}

/** The HTTP status for an envelope: 200 for success (and 100 QUEUED), else the table's. */
export function httpStatusOf(reply: Reply): number {
  if (reply.status < 300 && !REFUSALS.has(reply)) return 200;
  const errors = (reply.data?.errors as ErrorItem[] | undefined) ?? [];
  const code = (errors[0]?.code ?? reply.status) as CceCode;
  return ERROR_CODES[code]?.http ?? 400;
}

export { CceError };
