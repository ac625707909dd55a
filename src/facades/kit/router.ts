/**
 * The shared router of the REST facades: one declaration per path, with who
 * may call it (an access level, src/facades/kit/principals.ts) and the zod
 * schemas of its params, query and body. Parsing, authentication and the
 * request log's caller label happen here once; the facade supplies its own
 * words for a parse failure and for a refused credential.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Principal } from '../../auth/credentials/index.js';
import { principalFor, CREDENTIALS, DEVICE_DOOR, MAY_BE_ANONYMOUS, type Access } from './principals.js';
import type { RouteDeclaration, RouteDoc } from '../../api-reference/declaration.js';
import { checkingReplies, generic, noteGeneric, replyCheck } from '../../api-reference/reply-check.js';
import type { DoorClass } from '../../auth/origins.js';

export type { Access };

export interface RouteCtx<P, Q, B> {
  req: FastifyRequest;
  reply: FastifyReply;
  who: Principal;
  params: P;
  query: Q;
  body: B;
}

const none = z.unknown();

interface Spec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  access: Access;
  /** The door for the gate's origin policy (src/auth/origins.ts): `device` for the levels devices call, else `people` unless said. */
  door?: DoorClass;
  params?: P;
  query?: Q;
  body?: B;
  /** What the API reference says beyond the schemas (src/api-reference): summary, reply, the path's own errors. */
  doc?: RouteDoc;
}

export type Router = <P extends z.ZodType = typeof none, Q extends z.ZodType = typeof none, B extends z.ZodType = typeof none>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  spec: Spec<P, Q, B>,
  handler: (ctx: RouteCtx<z.output<P>, z.output<Q>, z.output<B>>) => unknown,
) => void;

/** What a facade brings to the router: its document's answers. */
export interface FacadeWords {
  /** One part of a request through its schema; throws the facade's 400. */
  parse<S extends z.ZodType>(schema: S, value: unknown, part: 'body' | 'query' | 'params'): z.output<S>;
  /** Any error of authentication as the facade throws it (a refused credential in its body shape). */
  refusal(err: unknown): unknown;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Params and principal, found before the body is read (preParsing) and used by the handler (decorated in src/http/server.ts). */
    facadeEarly: { params: unknown; who: Principal } | null;
  }
}

export function makeRouter(app: FastifyInstance, services: Services, words: FacadeWords): Router {
  const checking = checkingReplies();
  // A part refused by its schema: a refusal every path with a schema has (the reply check tells it from the route's own).
  const parse: FacadeWords['parse'] = (schema, value, part) => {
    try {
      return words.parse(schema, value, part);
    } catch (err) {
      throw generic(err);
    }
  };
  return (method, url, spec, handler) => {
    const api: RouteDeclaration = { credential: CREDENTIALS[spec.access], params: spec.params, query: spec.query, body: spec.body, doc: spec.doc };
    app.route({
      method,
      url,
      config: { door: spec.door ?? (DEVICE_DOOR.has(spec.access) ? 'device' : 'people'), api },
      // Tests only (CCED_CHECK_REPLIES=1): every reply checked against the declaration (src/api-reference/reply-check.ts).
      ...(checking ? { onSend: replyCheck(url, api), onError: noteGeneric } : {}),
      // A caller may pass without a credential (a public route, a local reader): the small pre-authentication limit.
      ...(MAY_BE_ANONYMOUS.has(spec.access) ? { bodyLimit: services.config.max_preauth_body_bytes } : {}),
      // The others authenticate from headers before the body is read, so no unauthenticated body is buffered.
      preParsing: async (req, _reply, payload) => {
        // Params first: a device path needs the key to authenticate; a bad key cannot name a device anyway.
        const params = parse(spec.params ?? none, req.params, 'params');
        let who: Principal;
        try {
          who = await principalFor(services, req, spec.access, params);
        } catch (err) {
          throw generic(words.refusal(err));
        }
        req.cceCaller = who.label;
        req.facadeEarly = { params, who };
        return payload;
      },
      handler: async (req, reply) => {
        const { params, who } = req.facadeEarly!;
        const query = parse(spec.query ?? none, req.query, 'query');
        const body = parse(spec.body ?? none, req.body, 'body');
        return handler({ req, reply, who, params, query, body } as RouteCtx<never, never, never>);
      },
    });
  };
}
