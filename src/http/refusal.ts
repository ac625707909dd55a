/** Transport-level refusals to HTTP, in one place (see Refusal in src/errors.ts). */
import type { FastifyReply } from 'fastify';
import type { Refusal } from '../errors.js';

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
