/**
 * The Meeting paths on the shared facade router (src/facades/kit/router.ts),
 * with the document's words: `{"error": "..."}` for a bad request part and
 * for a refused credential; each path with its declaration (declared/:
 * success replies and refusals), merged with what the route says itself.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { makeRouter, type Router } from '../kit/router.js';
import { parseWith } from './replies.js';
import { DeviceCredentials } from '../../devices/credentials.js';
import { asMeetingError } from './auth.js';
import { MEETING_DECLARATIONS } from './declared/index.js';

export type { Access, RouteCtx, Router } from '../kit/router.js';

export function router(app: FastifyInstance, services: Services): Router {
  // The Meeting facade serves the devices: the chain checks their tokens against the device world's cache.
  services.credentials.provideDevices(DeviceCredentials.of(services.store, services.config.device_credential_cache));
  const route = makeRouter(app, services, { parse: parseWith, refusal: asMeetingError });
  return (method, url, spec, handler) => route(method, url, { ...spec, doc: { ...MEETING_DECLARATIONS[`${method} ${url}`], ...spec.doc } }, handler);
}
