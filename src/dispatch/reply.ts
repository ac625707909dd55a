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

export function errorReply(err: CceError): Reply {
  return failure(err.items);
}

/** The HTTP status for an envelope: 200 for success (and 100 QUEUED), else the table's. */
export function httpStatusOf(reply: Reply): number {
  if (reply.status < 300) return 200;
  const errors = (reply.data?.errors as ErrorItem[] | undefined) ?? [];
  const code = (errors[0]?.code ?? reply.status) as CceCode;
  return ERROR_CODES[code]?.http ?? 400;
}

export { CceError };
