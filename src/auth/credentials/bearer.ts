/** `Authorization: Bearer <x>`, read once for the two strategies that accept it (bearer grants and OIDC). */
import type { RequestHeaders } from './types.js';

export const AUTHORIZATION_HEADER = 'authorization';

/** The `<x>` of `Authorization: Bearer <x>`; '' for a header of another scheme or a malformed one; undefined when absent. */
export function bearerOf(headers: RequestHeaders): string | undefined {
  const h = headers[AUTHORIZATION_HEADER];
  if (h === undefined || h === '') return undefined;
  if (typeof h !== 'string') return '';
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
  return m ? m[1]! : '';
}

/** Three base64url segments: a JWS in compact form. Grants are one base64url word, so the two never meet. */
export const looksLikeJwt = (token: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
