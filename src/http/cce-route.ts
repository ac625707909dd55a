/**
 * POST /v2/cce. The body is JSON whatever the Content-Type says (the reference's
 * own examples use `curl -d`, which sends form-urlencoded), parsed with
 * prototype-poisoning protection; malformed JSON is HTTP 400 with a JSON body.
 */
import type { FastifyInstance } from 'fastify';
import sjson from 'secure-json-parse';
import type { Dispatcher, RequestInfo } from '../dispatch/dispatcher.js';
import { httpStatusOf } from '../dispatch/reply.js';
import { describeCaller } from '../auth/caller.js';
import type { BodyBudget } from './body-budget.js';
import { sendCredentialRefused } from './refusal.js';
import { CredentialRefused } from '../auth/credentials/index.js';
import type { DoorClass, OriginClass } from '../auth/origins.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the gate: where the client is. */
    origin: OriginClass;
    /** For the request log line. */
    cceVerb?: string;
    cceCaller?: string;
  }
  interface FastifyContextConfig {
    /** The door a route is, for the gate's origin policy (src/auth/origins.ts); `people` when unsaid. */
    door?: DoorClass;
  }
}

export async function cceRoute(app: FastifyInstance, opts: { dispatcher: Dispatcher; budget: BodyBudget }): Promise<void> {
  app.removeAllContentTypeParsers();
  const asBuffer = (_req: unknown, body: Buffer, done: (err: null, body: Buffer) => void) => done(null, body);
  // The usual types by name as well as '*': fastify caches the parser found for a
  // named type, but looks the catch-all up again (parsing the header) on every request.
  for (const type of ['application/json', 'application/x-www-form-urlencoded', '*']) {
    app.addContentTypeParser(type, { parseAs: 'buffer' }, asBuffer);
  }

  // Read before anyone is known (the credentials are in it): large bodies count against their address's budget.
  app.post('/v2/cce', { preParsing: opts.budget.preParsing, config: { door: 'cce' } }, async (request, reply) => {
    let body: unknown;
    try {
      const raw = request.body instanceof Buffer ? request.body.toString('utf8') : '';
      body = sjson.parse(raw, undefined, { protoAction: 'remove', constructorAction: 'remove' });
    } catch (err) {
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `malformed JSON: ${(err as Error).message}` });
    }
    const info: RequestInfo = { ip: request.ip, origin: request.origin, headers: request.headers, log: request.log };
    let outcome;
    try {
      outcome = await opts.dispatcher.handle(body, info);
    } catch (err) {
      // A credential presented and refused (an OIDC token): the status and words every door answers it with.
      if (err instanceof CredentialRefused) return sendCredentialRefused(reply, err);
      throw err;
    }
    const { reply: out, verb, caller } = outcome;
    request.cceVerb = verb;
    request.cceCaller = describeCaller(caller);
    return reply.code(httpStatusOf(out)).send(out);
  });
}
