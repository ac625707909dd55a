/**
 * The one HTTP(S) server: the gate on every request, the /v2/cce route, the
 * facades, one request log line each, and errors mapped to JSON without stack
 * traces.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type https from 'node:https';
import type { Services } from '../services.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { Gate } from '../auth/gate.js';
import { cceRoute } from './cce-route.js';
import { eventsRoute } from './events-route.js';
import { FACADES } from '../facades/index.js';
import { Refusal } from '../errors.js';
import { sendRefusal } from './refusal.js';
import { lazyChildLogger } from './lazy-logger.js';
import { capConnectionsPerIp } from './connections.js';
import { closeIdleConnections } from './idle.js';
import { closeAfterUnreadBody } from './unread-body.js';
import { clientErrorHandler } from './client-error.js';
import { parseAccessEntry } from '../auth/gate.js';
import { originAllowed } from '../auth/origins.js';
import { checkBodyLimits, serverTimeouts } from '../listen.js';
import { BodyBudget } from './body-budget.js';
import { collectRoutes } from '../api-reference/routes.js';
import { apiReference } from '../api-reference/page.js';

export interface ServerParts {
  services: Services;
  dispatcher: Dispatcher;
  gate: Gate;
}

function tlsOptions(s: Services): https.ServerOptions | undefined {
  const c = s.config;
  if (!c.cert_file || !c.key_file) return undefined;
  // ca_cert_file is the chain the server presents after its certificate (intermediates), as the reference uses it.
  const cert = readFileSync(c.cert_file, 'utf8');
  const chain = c.ca_cert_file ? readFileSync(c.ca_cert_file, 'utf8') : '';
  return { cert: chain ? `${cert.trimEnd()}\n${chain}` : cert, key: readFileSync(c.key_file) };
}

/** /v2/cce and /v2/events (a session or token in the body or headers) or a bearer token (the Meeting paths). */
function mayCarryEstablished(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return request.headers.authorization !== undefined || url === '/v2/cce' || url === '/v2/events';
}

export function buildServer({ services, dispatcher, gate }: ServerParts): FastifyInstance {
  const { config, log } = services;
  const tls = tlsOptions(services);
  const timeouts = serverTimeouts(config);
  checkBodyLimits(config);
  const app = Fastify({
    loggerInstance: log,
    // One line per request comes from the onResponse hook below, with the verb and the caller.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    bodyLimit: config.max_body_bytes,
    trustProxy: config.trusted_proxies.length > 0 ? config.trusted_proxies : false,
    // No request may take for ever: header, whole-request, idle and keep-alive deadlines (src/listen.ts).
    ...timeouts.fastify,
    http: timeouts.http,
    ...(tls ? { https: { ...tls, ...timeouts.http } } : {}),
    clientErrorHandler,
  } as unknown as FastifyServerOptions) as unknown as FastifyInstance;

  // Connections: max_connections in all (node closes the excess on accept), max_connections_per_ip each.
  app.server.maxConnections = config.max_connections;
  const proxies = config.trusted_proxies.map(parseAccessEntry);
  capConnectionsPerIp(app.server, {
    perIp: config.max_connections_per_ip,
    exempt: (ip) => proxies.some((p) => p.contains(ip)),
    log,
  });
  if (config.connection_timeout > 0) closeIdleConnections(app);
  closeAfterUnreadBody(app);

  app.decorateRequest('origin', 'local');
  // Set on most requests: declared up front, every request keeps one shape (no hidden-class change per request).
  app.decorateRequest('cceVerb', undefined);
  app.decorateRequest('cceCaller', undefined);
  app.decorateRequest('facadeEarly', null);

  // The gate: an address neither local nor whitelisted gets 403 before any route runs.
  // Synchronous, callback style (no promise per request): both checks are in-memory look-ups.
  app.addHook('onRequest', (request, reply, done) => {
    const ip = request.ip;
    const origin = gate.originOf(ip);
    if (origin === undefined) {
      // The path only: a query string may carry anything, secrets included.
      request.log.warn({ ip, url: request.url.split('?')[0] }, 'origin not allowed');
      reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: 'origin not allowed' });
      return;
    }
    // The origin policy: a class of address reaches only the doors the table opens to it (devices: the device paths).
    if (!originAllowed(request.routeOptions.config?.door, origin)) {
      request.log.warn({ ip, url: request.url.split('?')[0], origin }, 'origin not allowed at this door');
      reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: 'origin not allowed' });
      return;
    }
    request.origin = origin;
    // A banned address keeps only what it established before the ban: a request that cannot carry a session,
    // LOGIN token or bearer token is refused here; one that can is decided where that credential is checked.
    const wait = services.auth.bans.addressBanLeft(ip);
    if (wait !== undefined && !mayCarryEstablished(request)) {
      sendRefusal(reply, new Refusal('banned', wait));
      return;
    }
    // Several nodes on one database: what this request reads is no older than any write acknowledged before it came.
    if (!services.store.catchesUp) done();
    else services.store.catchUp().then(() => done(), done);
  });

  // Every response, the gate's refusals and 404s included: counted for /api/metrics and logged.
  // Callback style like the gate: an async hook costs a promise and a microtask per request.
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    services.requests.add(request.cceVerb ?? request.method, status);
    // Through the daemon's logger, naming the request id itself: no child logger for the common request.
    log.info(
      {
        reqId: request.id,
        method: request.method,
        url: request.routeOptions.url ?? request.url.split('?')[0],
        ip: request.ip,
        // Requests refused before the dispatcher (bad JSON, too large, no route) still say so.
        verb: request.cceVerb ?? '?',
        caller: request.cceCaller ?? 'anonymous',
        status,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
    done();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err instanceof Refusal) return sendRefusal(reply, err);
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, 'internal error');
    // A 500 says nothing of its cause: the code of a database error (PostgreSQL's 42P01) is a detail too.
    const [code, message] = status === 500 ? [undefined, 'internal error'] : [err.code, err.message];
    return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status], code, message });
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));

  // Before any route: the API reference sees every route registered after this.
  const routes = collectRoutes(app);
  app.register(apiReference, { routes });
  app.register(cceRoute, { dispatcher, budget: new BodyBudget(config.max_body_bytes_in_flight, config.max_preauth_body_bytes) });
  app.register(eventsRoute, { services });
  for (const facade of FACADES) app.register(facade.plugin, { services });
  return app;
}
