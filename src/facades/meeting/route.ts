/**
 * One declaration per REST path: who may call it, the zod schemas of its
 * params, query and body, and a handler that returns the reply body. Parsing,
 * authentication and the request log's caller label happen here once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { adminCaller, bearerCaller, deviceOrAdmin, userPrincipal, type Principal } from './auth.js';
import { parseWith } from './replies.js';

/**
 * - `public`: anyone the gate let in (POST /api/auth/login)
 * - `user`: any bearer token (reads; the store hides secret fields from non-admins)
 * - `admin`: a systemAdministrator's bearer token
 * - `device`: the device of the path's `key` with its X-Device-Token, or an admin's bearer token
 */
export type Access = 'public' | 'user' | 'admin' | 'device';

export interface RouteCtx<P, Q, B> {
  req: FastifyRequest;
  reply: FastifyReply;
  who: Principal;
  params: P;
  query: Q;
  body: B;
}

const ANYONE: Principal = { subject: { oid: -1, admin: false, capabilities: [] }, label: 'anonymous' };
const none = z.unknown();

interface Spec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
}

export type Router = <P extends z.ZodType = typeof none, Q extends z.ZodType = typeof none, B extends z.ZodType = typeof none>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  spec: Spec<P, Q, B>,
  handler: (ctx: RouteCtx<z.output<P>, z.output<Q>, z.output<B>>) => unknown,
) => void;

function principal(services: Services, req: FastifyRequest, access: Access, params: unknown): Principal {
  switch (access) {
    case 'public':
      return ANYONE;
    case 'user':
      return userPrincipal(bearerCaller(services, req));
    case 'admin':
      return userPrincipal(adminCaller(services, req));
    case 'device':
      return deviceOrAdmin(services, req, (params as { key: string }).key);
  }
}

/** Params and principal, found before the body is read (preParsing) and used by the handler. */
const early = new WeakMap<FastifyRequest, { params: unknown; who: Principal }>();

export function router(app: FastifyInstance, services: Services): Router {
  return (method, url, spec, handler) => {
    app.route({
      method,
      url,
      // Nobody is authenticated before a public route reads its body: the small pre-authentication limit.
      ...(spec.access === 'public' ? { bodyLimit: services.config.max_preauth_body_bytes } : {}),
      // The others authenticate from headers before the body is read, so no unauthenticated body is buffered.
      preParsing: async (req, _reply, payload) => {
        // Params first: a device path needs the key to authenticate; a bad key cannot name a device anyway.
        const params = parseWith(spec.params ?? none, req.params, 'params');
        const who = principal(services, req, spec.access, params);
        req.cceCaller = who.label;
        early.set(req, { params, who });
        return payload;
      },
      handler: async (req, reply) => {
        const { params, who } = early.get(req)!;
        const query = parseWith(spec.query ?? none, req.query, 'query');
        const body = parseWith(spec.body ?? none, req.body, 'body');
        return handler({ req, reply, who, params, query, body } as RouteCtx<never, never, never>);
      },
    });
  };
}
