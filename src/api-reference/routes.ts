/**
 * Every route fastify is told about, as it is registered (an onRoute hook on
 * the root instance, installed before any route): the API reference is built
 * from this list, so a route cannot exist without the document seeing it.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import type { RouteDeclaration } from './declaration.js';

export interface KnownRoute {
  method: string;
  /** Fastify's form: `/api/devices/:key`. */
  url: string;
  /** What the route says of itself for the reference (the facade kit writes one for each of its routes). */
  api?: RouteDeclaration;
}

export function collectRoutes(app: FastifyInstance): KnownRoute[] {
  const routes: KnownRoute[] = [];
  app.addHook('onRoute', (r) => {
    const methods = ([] as HTTPMethods[]).concat(r.method);
    const api = r.config?.api;
    for (const method of methods) routes.push({ method, url: r.url, ...(api ? { api } : {}) });
  });
  return routes;
}
