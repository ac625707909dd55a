/**
 * The refusals a path answers whatever it declares itself: the gate's, its
 * credential's (the access level), its schemas' and fastify's own for a body.
 * The document lists them on every operation and the reply check
 * (reply-check.ts) accepts them, with any text, on every path that has them.
 */
import type { RouteDeclaration } from './declaration.js';

/** Every path answers these, whoever declared it (the gate, src/http/server.ts). */
export const GATE_ERRORS: Readonly<Record<number, string>> = {
  403: 'The address is outside the gate (api_access, device_access) or not allowed at this door',
  429: 'The address is banned for repeated failed authentication (Retry-After)',
};

/** Methods whose request fastify reads a body for (a GET's is ignored). */
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Status to meaning, for one route. */
export function genericErrors(method: string, d: RouteDeclaration): Record<number, string> {
  const errors: Record<number, string> = { ...GATE_ERRORS, ...d.credential.errors };
  const readsBody = WITH_BODY.has(method);
  if (d.params || d.query || d.body || d.doc?.multipart) errors[400] = 'A path parameter, the query or the body does not match its schema';
  else if (readsBody) errors[400] = 'The body is not the JSON its content type says';
  if (readsBody) {
    errors[413] = 'The body is larger than allowed';
    errors[415] = 'The body has a content type the path does not read';
  }
  // A failure nobody caused (a disk fault, a hand-edited file): logged, its body says no more.
  errors[500] = 'An unexpected failure: logged, the reply says no more';
  // An OIDC token is checked against the identity provider's keys, fetched when needed.
  if (d.credential.security.some((s) => 'bearer' in s)) errors[503] = 'The OIDC identity provider cannot be reached to check a token';
  return errors;
}
