/**
 * The Meeting API (seeds/000) as a facade over the store: registered once from
 * src/http/server.ts. Its own error handler answers the document's
 * `{"error": "..."}` bodies; the gate (server.ts's onRequest hook) has already
 * run for every request.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { toFacadeError } from './replies.js';
import { router } from './route.js';
import { authRoutes } from './auth-routes.js';
import { deviceRoutes } from './devices.js';
import { deviceSettingRoutes } from './device-settings.js';
import { deviceStatusRoutes } from './device-status.js';
import { deviceTypeRoutes } from './device-types.js';
import { userRoutes } from './users.js';
import { metricsRoutes } from './metrics-routes.js';
import flashFiles from './flash-files.js';
import playerFiles from './player.js';
import { sshWorld } from './ssh-world.js';
import { Refusal } from '../../errors.js';
import { sendRefusal } from '../../http/refusal.js';

export async function meetingFacade(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  app.setErrorHandler((err, req, reply) => {
    // A ban (429 with Retry-After) answers as it does on every path.
    if (err instanceof Refusal) return sendRefusal(reply, err);
    const known = toFacadeError(err);
    if (known) {
      if (known.status === 401) reply.header('www-authenticate', 'Bearer');
      return reply.code(known.status).send(known.body);
    }
    req.log.error({ err }, 'internal error');
    return reply.code(500).send({ error: 'Internal error' });
  });
  const route = router(app, services);
  authRoutes(route, services);
  deviceRoutes(route, services);
  deviceSettingRoutes(route, services);
  deviceStatusRoutes(route, services);
  deviceTypeRoutes(route, services);
  userRoutes(route, services);
  metricsRoutes(route, services, app);
  sshWorld(route, services, app);
  // Each in its own encapsulated context: multipart parsing is registered for the firmware and player paths only.
  app.register(flashFiles, { services });
  app.register(playerFiles, { services });
}
