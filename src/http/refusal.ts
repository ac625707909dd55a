/** Transport-level refusals to HTTP, in one place (see Refusal in src/errors.ts). */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Refusal } from '../errors.js';
import type { CredentialRefused } from '../auth/credentials/index.js';

/** The reference's exact answer to a wrong or missing X-Client-Secret. */
export const BAD_CLIENT_SECRET_BODY = 'Unauthorized: invalid client secret';

export function sendRefusal(reply: FastifyReply, refusal: Refusal): FastifyReply {
  if (refusal.kind === 'client-secret') {
    return reply.code(401).type('text/plain; charset=utf-8').send(BAD_CLIENT_SECRET_BODY);
  }
  return reply
    .code(429)
    .header('retry-after', String(refusal.retryAfterS))
    .send({
      statusCode: 429,
      error: 'Too Many Requests',
      message: `too many failed authentication attempts from this address; retry in ${refusal.retryAfterS} s`,
    });
}

/** A credential presented and refused (an OIDC token): its status and message in the transport refusals' JSON shape; 401 names the scheme. */
export function sendCredentialRefused(reply: FastifyReply, refused: CredentialRefused): FastifyReply {
  if (refused.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(refused.status).send({ statusCode: refused.status, error: STATUS_CODES[refused.status], message: refused.message });
}
