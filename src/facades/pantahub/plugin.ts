/**
 * The Pantahub device registry (seeds/004) as a facade over the store, under
 * `pantahub_prefix` (the root by default). Its own error handler answers the
 * document's `{"Error": "..."}` bodies, a ban's 429 too (with Retry-After);
 * the gate has already run.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { Refusal } from '../../errors.js';
import { sendRefusal } from '../../http/refusal.js';
import { makeRouter } from '../kit/router.js';
import { parseWith, toPantahubReply } from './replies.js';
import { authRoutes } from './auth-routes.js';
import { deviceRoutes } from './devices.js';
import { registrationRoutes } from './registration.js';
import { tokenRoutes } from './tokens.js';

async function routes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof Refusal && err.kind === 'banned') return reply.code(429).header('retry-after', String(err.retryAfterS)).send({ Error: 'Too Many Requests' });
    /* c8 ignore next: no Pantahub path checks a client secret */
    if (err instanceof Refusal) return sendRefusal(reply, err);
    const known = toPantahubReply(err);
    if (known) {
      if (known.status === 401) reply.header('www-authenticate', 'Bearer');
      if (known.retryAfterS !== undefined) reply.header('retry-after', String(known.retryAfterS));
      return reply.code(known.status).send({ Error: known.text });
    }
    req.log.error({ err }, 'internal error');
    return reply.code(500).send({ Error: 'Internal error' });
  });
  const route = makeRouter(app, services, { parse: parseWith, refusal: (err) => toPantahubReply(err) ?? err });
  authRoutes(route, services);
  tokenRoutes(route, services);
  registrationRoutes(route, services);
  deviceRoutes(route, services);
}

export async function pantahubFacade(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  await app.register(routes, { services, prefix: services.config.pantahub_prefix });
}
