/**
 * /v2/events: the change log as Server-Sent Events (text/event-stream).
 *
 *   POST /v2/events   the /v2/cce envelope's credential fields in a JSON body
 *                     ({"user","sessionid"} or {"token"} + X-Client-Secret),
 *                     with the filters `class`, `oid`, `namespace` and `since`
 *   GET  /v2/events   credentials as headers (X-CCE-User + X-CCE-Session, or
 *                     X-CCE-Token + X-Client-Secret), filters as query parameters
 *
 * Credentials in a query string are refused (query strings end up in logs).
 * The gate has run before (src/http/server.ts); a caller without valid
 * credentials gets the /v2/cce failure envelope with HTTP 401 before any event.
 * Resume: Last-Event-ID (or `since`). @fastify/sse opens the stream (headers),
 * sends the keep-alive comments and closes it; src/events/stream.ts decides
 * what is sent and frames it once per page and kind of reader (the plugin's
 * send() frames each event for each stream again: at 100 streams that cost
 * more server CPU than the writes themselves).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fastifySSE } from '@fastify/sse';
import sjson from 'secure-json-parse';
import { z } from 'zod';
import type { Services } from '../services.js';
import type { RequestInfo } from '../dispatch/dispatcher.js';
import { errorReply, httpStatusOf } from '../dispatch/reply.js';
import { CceError, Refusal, badParameters } from '../errors.js';
import { ANONYMOUS, describeCaller } from '../auth/caller.js';
import { sendCredentialRefused, sendRefusal } from './refusal.js';
import { CredentialRefused } from '../auth/credentials/index.js';
import { EventStream, type Sink } from '../events/stream.js';
import type { EventFilter } from '../events/view.js';

/** Query parameters that carry secrets: a request naming one is refused before anything else. */
const SECRET_PARAMS = ['user', 'password', 'sessionid', 'token', 'access_token', 'secret', 'client_secret'];

const eventId = z.string().regex(/^(0|[1-9][0-9]{0,15})$/, 'expected an event id').transform(Number);
const name = (what: string) => z.string().regex(/^[A-Za-z0-9_]{0,64}$/, `expected a ${what}`);
const filterFields = {
  class: name('class name').optional(),
  oid: z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^[1-9][0-9]{0,15}$/, 'expected an oid')).transform(Number).optional(),
  namespace: name('namespace').optional(),
  since: z.union([z.string(), z.number()]).transform(String).pipe(eventId).optional(),
};
const postBody = z.object({ user: z.string().max(256).optional(), sessionid: z.string().max(1024).optional(), token: z.string().max(1024).optional(), ...filterFields });
const getQuery = z.object(filterFields);

/** The credential fields a stream is opened with, as /v2/cce's envelope carries them. */
type StreamCredentials = { user?: string; sessionid?: string; token?: string };
type Parsed = { creds: StreamCredentials; filter: EventFilter; since: number | undefined };

export async function eventsRoute(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { config, store } = services;
  const hub = services.changes;
  await app.register(fastifySSE, { heartbeatInterval: config.event_keepalive * 1000 });
  app.removeAllContentTypeParsers();
  // JSON whatever the Content-Type says, as /v2/cce (curl -d sends form-urlencoded).
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req: unknown, body: Buffer, done: (err: null, body: Buffer) => void) => done(null, body));
  const perIp = new Map<string, number>();

  /** Checks the request's parts with zod; a bad one is the /v2/cce 403 BAD PARAMETERS. */
  const parse = (request: FastifyRequest): Parsed => {
    const header = (h: string) => {
      const v = request.headers[h];
      return typeof v === 'string' ? v : undefined;
    };
    let input: unknown = request.query;
    let creds: StreamCredentials = { user: header('x-cce-user'), sessionid: header('x-cce-session'), token: header('x-cce-token') };
    if (request.method === 'POST') {
      try {
        input = sjson.parse(request.body instanceof Buffer ? request.body.toString('utf8') : '', undefined, { protoAction: 'remove', constructorAction: 'remove' });
      } catch {
        throw badParameters('malformed JSON');
      }
    }
    const parsed = (request.method === 'POST' ? postBody : getQuery).safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw badParameters(`${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const d = parsed.data as z.output<typeof postBody>;
    if (request.method === 'POST') creds = { user: d.user, sessionid: d.sessionid, token: d.token };
    if (d.class !== undefined) store.classDef(d.class);
    const lastEventId = header('last-event-id');
    const since = lastEventId !== undefined ? eventIdOf(lastEventId) : d.since;
    return { creds, filter: { class: d.class, oid: d.oid, namespace: d.namespace }, since };
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    request.cceVerb = 'EVENTS';
    const query = request.query as Record<string, unknown>;
    if (SECRET_PARAMS.some((p) => p in query)) {
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'credentials in a query string are refused: send them as headers or in a POST body' });
    }
    let parsed: Parsed;
    const info: RequestInfo = { ip: request.ip, origin: request.origin, headers: request.headers, log: request.log };
    let caller = ANONYMOUS;
    try {
      parsed = parse(request);
      // The same chain as /v2/cce: a session, a LOGIN token with its client secret, an OIDC bearer token.
      caller = await services.credentials.resolveCaller({ ...info, envelope: parsed.creds });
      if (caller === ANONYMOUS) {
        // As /v2/cce: a banned address keeps only what it established before the ban.
        const wait = services.auth.bans.addressBanLeft(request.ip);
        if (wait !== undefined) throw new Refusal('banned', wait);
        throw new CceError(401);
      }
    } catch (err) {
      if (err instanceof Refusal) return sendRefusal(reply, err);
      if (err instanceof CredentialRefused) return sendCredentialRefused(reply, err);
      if (!(err instanceof CceError)) throw err;
      const out = errorReply(err);
      return reply.code(httpStatusOf(out)).send(out);
    }
    request.cceCaller = describeCaller(caller);
    const open = perIp.get(request.ip) ?? 0;
    if (open >= config.event_streams_per_ip) {
      return reply.code(429).send({ statusCode: 429, error: 'Too Many Requests', message: `at most ${config.event_streams_per_ip} event streams per address` });
    }
    perIp.set(request.ip, open + 1);
    reply.sse.keepAlive();
    reply.sse.sendHeaders(200);
    // Node holds written headers back until the first body byte; the client learns at once that it is subscribed.
    reply.raw.flushHeaders();
    const grant = caller.grant;
    const stream = new EventStream(hub, sseSink(reply), {
      caller,
      filter: parsed.filter,
      bufferBytes: config.event_stream_buffer_bytes,
      stillValid: () => grant === undefined || services.auth.grants.holds(grant),
      onEnd: (why) => {
        const left = perIp.get(request.ip)! - 1;
        if (left === 0) perIp.delete(request.ip);
        else perIp.set(request.ip, left);
        if (why !== 'closed') request.log.info({ ip: request.ip, caller: request.cceCaller, why }, 'event stream closed');
      },
    });
    reply.sse.onClose(() => stream.close());
    await stream.start(parsed.since);
  };

  // Frames are written whole by the sink below; the plugin opens the stream, sends the keep-alives, closes it.
  const sse = { kind: 'manual' as const };
  app.get('/v2/events', { sse, config: { door: 'cce' } }, handler);
  app.post('/v2/events', { sse, bodyLimit: config.max_preauth_body_bytes, config: { door: 'cce' } }, handler);
}

function eventIdOf(text: string): number {
  const parsed = eventId.safeParse(text);
  if (!parsed.success) throw badParameters('Last-Event-ID: expected an event id');
  return parsed.data;
}

/**
 * The stream @fastify/sse opened, as a Sink. Frames are written as they are
 * (built once per page and kind of reader: src/events/stream.ts), one write
 * per page; while the socket asks to drain they wait in a queue here, counted
 * in pending(), instead of piling up in more write() calls.
 */
function sseSink(reply: FastifyReply): Sink {
  const raw = reply.raw;
  let queue: string[] = [];
  let queuedBytes = 0;
  let armed = false;
  const flush = () => {
    armed = false;
    while (queue.length > 0 && !raw.writableNeedDrain && reply.sse.isConnected) {
      const next = queue.shift()!;
      queuedBytes -= next.length;
      raw.write(next);
    }
    if (queue.length > 0) arm();
  };
  const arm = () => {
    if (armed) return;
    armed = true;
    raw.once('drain', flush);
  };
  return {
    write(frames) {
      if (!reply.sse.isConnected) return;
      if (queue.length === 0 && !raw.writableNeedDrain) {
        raw.write(frames);
        return;
      }
      queue.push(frames);
      queuedBytes += frames.length;
      arm();
    },
    pending: () => raw.writableLength + queuedBytes,
    // 'drain' comes only after a write() that returned false: with nothing held back there is nothing to wait for.
    drained: () =>
      new Promise<void>((resolve) => {
        if ((queue.length === 0 && !raw.writableNeedDrain) || !reply.sse.isConnected) return resolve();
        const done = () => {
          raw.off('drain', done);
          raw.off('close', done);
          resolve();
        };
        raw.once('drain', done);
        raw.once('close', done);
      }),
    close() {
      queue = [];
      queuedBytes = 0;
      // A reader that stopped reading never takes what is buffered: the socket goes now, not after a flush.
      if (raw.writableLength > 0) raw.destroy();
      else reply.sse.close();
    },
  };
}
