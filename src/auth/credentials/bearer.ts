/** `Authorization: Bearer <x>`, read once for the two strategies that accept it (bearer grants and OIDC). */
import type { Auth } from '../auth.js';
import type { Grant } from '../secrets.js';
import { Refusal } from '../../errors.js';
import { CredentialRefused, type CredentialRequest, type RequestHeaders } from './types.js';

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

/** The bearer secret sent and the grant it names (undefined when unknown or expired); undefined when no bearer is sent. */
export async function bearerGrantOf(auth: Auth, req: CredentialRequest): Promise<{ secret: string; grant: Grant | undefined } | undefined> {
  const secret = bearerOf(req.headers);
  if (secret === undefined) return undefined;
  return { secret, grant: secret === '' ? undefined : await auth.grants.lookup(secret) };
}

/** A bearer that proves nothing: 429 from a banned address (only an established grant passes a ban), else `status`. */
export function refuseBearer(auth: Auth, req: CredentialRequest, status: 401 | 403): never {
  const wait = auth.bans.addressBanLeft(req.ip);
  if (wait !== undefined) throw new Refusal('banned', wait);
  throw new CredentialRefused(status, 'Invalid or expired token');
}
