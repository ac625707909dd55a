/**
 * GET /api/metrics?action=get|logs|prometheus, for a sysadmin's bearer token
 * (the figures describe the host: not for every user).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { logRingOf } from '../../log.js';
import { LOG_RING_LINES } from '../../metrics/log-ring.js';
import { PromMetrics } from '../../metrics/prometheus.js';
import { systemMetrics } from '../../metrics/system.js';
import type { Router } from './route.js';
import { fail } from './replies.js';

const query = z.object({
  action: z.enum(['get', 'logs', 'prometheus']),
  lines: z.coerce.number().int().min(1).max(LOG_RING_LINES).default(100),
});

export function metricsRoutes(route: Router, s: Services, app: FastifyInstance): void {
  const prom = new PromMetrics(s);
  app.addHook('onClose', async () => prom.close());

  route('GET', '/api/metrics', { access: 'admin', query }, async ({ query, reply }) => {
    switch (query.action) {
      case 'get':
        return { success: true, metrics: await systemMetrics(s) };
      case 'logs': {
        const ring = logRingOf(s.log);
        // A daemon given a logger not made by createLogger keeps no tail: the document's 500.
        if (!ring) throw fail(500, 'Log not available');
        return { success: true, log: ring.last(query.lines) };
      }
      case 'prometheus':
        return reply.type(prom.registry.contentType).send(await prom.text());
    }
  });
}
