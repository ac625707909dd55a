/**
 * The route declarations are the truth, both ways. This file: every route a
 * facade declares has its success replies and its refusals declared (a route
 * added without them fails here), every Meeting declaration names a route,
 * and the reply check (src/api-reference/reply-check.ts) catches each kind of
 * mismatch. The other way, every test daemon runs with CCED_CHECK_REPLIES=1
 * (test/helpers/daemon.ts): each reply of every test is checked against its
 * route's declaration and a mismatch fails the test that made it.
 */
import t from 'tap';
import { z } from 'zod';
import fastify from 'fastify';
import { startDaemon } from './helpers/daemon.js';
import type { Services } from '../src/services.js';
import { makeRouter } from '../src/facades/kit/router.js';
import { parseWith } from '../src/facades/meeting/replies.js';
import { collectRoutes, type KnownRoute } from '../src/api-reference/routes.js';
import { successReplies, said, type RouteDeclaration } from '../src/api-reference/declaration.js';
import { checkingReplies, replyProblem, replyViolations } from '../src/api-reference/reply-check.js';
import { MEETING_DECLARATIONS } from '../src/facades/meeting/declared/index.js';
import { CREDENTIALS } from '../src/facades/kit/principals.js';

const key = (r: KnownRoute) => `${r.method} ${r.url}`;

t.test('every declared route states its success replies and its refusals', async (t) => {
  let routes: KnownRoute[] = [];
  const d = await startDaemon({ beforeListen: (app) => (routes = collectRoutes(app.server)) });
  t.teardown(() => d.close());
  const declared = routes.filter((r) => r.api && r.method !== 'HEAD');
  t.ok(declared.length > 90, `the routes were collected (${declared.length})`);
  const lacking = declared.filter((r) => successReplies(r.api!.doc) === undefined || (r.api!.doc?.refusals === undefined && r.api!.doc?.errors === undefined)).map(key);
  t.strictSame(lacking, [], 'no route lacks a reply or error declaration');

  // Every Meeting path: declared in full (replies and exact refusals), and every declaration names a route.
  const meeting = declared.filter((r) => r.url.startsWith('/api/') && !r.url.startsWith('/api/openapi') && r.url !== '/api' && !r.url.startsWith('/api/assets'));
  t.ok(meeting.length >= 73, `the Meeting paths (${meeting.length})`);
  for (const r of meeting) t.ok(r.api!.doc?.replies && r.api!.doc.refusals, `${key(r)}: replies and refusals`);
  const keys = new Set(meeting.map(key));
  t.strictSame(Object.keys(MEETING_DECLARATIONS).filter((k) => !keys.has(k)), [], 'every Meeting declaration names a route');
});

t.test('the reply check: on for the test daemons, off unless asked, a typo refused', async (t) => {
  t.equal(process.env.CCED_CHECK_REPLIES, '1', 'the test helper turns it on');
  t.equal(checkingReplies({}), false, 'off by default (production)');
  t.equal(checkingReplies({ CCED_CHECK_REPLIES: '0' }), false);
  t.equal(checkingReplies({ CCED_CHECK_REPLIES: '1' }), true);
  t.throws(() => checkingReplies({ CCED_CHECK_REPLIES: 'yes' }), { message: 'environment: CCED_CHECK_REPLIES: expected 0 or 1 (got "yes")' }, 'a value that is not 0 or 1 stops the start');
});

t.test('the reply check catches each kind of mismatch', async (t) => {
  const d: RouteDeclaration = {
    credential: CREDENTIALS.user,
    params: z.object({ key: z.string() }),
    doc: {
      replies: { 200: [z.strictObject({ ok: z.literal(true) }), { media: 'text/plain' }], 304: { media: '' } },
      refusals: [said(404, 'Device not found'), said(400, 'invalid {property}'), { status: 409, body: { status: 'taken' } }],
    },
  };
  const json = 'application/json; charset=utf-8';
  const check = (status: number, type: string, body: unknown, generic = false) => replyProblem('GET', d, status, type, typeof body === 'string' ? body : JSON.stringify(body), generic);
  // What matches.
  t.equal(check(200, json, { ok: true }), undefined);
  t.equal(check(200, 'text/plain; charset=utf-8', 'a line\n'), undefined);
  t.equal(check(304, '', ''), undefined);
  t.equal(check(404, json, { error: 'Device not found' }), undefined);
  t.equal(check(400, json, { error: 'anything: the schema refusal is generic' }, true), undefined, "raised by the kit's schema step");
  t.match(check(400, json, { error: 'anything' }), /refusal 400/, 'raised by the route itself: must be declared');
  t.equal(check(500, json, { error: 'Internal error' }), undefined, 'an unexpected failure');
  t.equal(check(409, json, { status: 'taken' }), undefined);
  t.equal(check(401, json, { error: 'Missing bearer token' }, true), undefined, "the credential's refusals are generic");
  t.equal(check(429, json, { statusCode: 429, error: 'Too Many Requests', message: '...' }), undefined, "the gate's too");
  // What does not.
  t.match(check(202, json, { ok: true }), /status 202 is not a declared success/);
  t.match(check(200, json, { ok: true, extra: 1 }), /does not match its schema .*extra/);
  t.match(check(200, json, { ok: false }), /does not match its schema \(ok:/);
  t.match(check(200, json, 'not json'), /not JSON/);
  t.match(check(200, 'text/html', '<p>'), /content type 'text\/html' where 'text\/plain'/);
  t.match(check(404, json, { error: 'Device not Found' }), /refusal 404 \{"error":"Device not Found"\} is not declared/);
  t.match(check(409, json, { status: 'taken', extra: 1 }), /refusal 409/);
  t.match(check(410, json, { error: 'Gone' }, true), /refusal 410/, 'a status no path has is never generic');
  // A placeholder stands for a varying part, not for nothing.
  const d2: RouteDeclaration = { ...d, params: undefined };
  t.equal(replyProblem('GET', d2, 400, json, JSON.stringify({ error: 'invalid note' })), undefined);
  t.match(replyProblem('GET', d2, 400, json, JSON.stringify({ error: 'invalid' }), true), /not declared/, 'no schema: a 400 is not generic');
  t.match(replyProblem('GET', d2, 400, json, JSON.stringify({ error: 'invalid ' })), /not declared/);
  t.match(replyProblem('GET', d2, 400, json, JSON.stringify({ error: 'invalid note!' }).replace('invalid', 'Invalid')), /not declared/);
  // The short form (`reply`, `errors` as status to meaning): statuses checked, not the refusals' texts.
  const short: RouteDeclaration = { credential: CREDENTIALS.user, doc: { reply: z.strictObject({ id: z.string() }), errors: { 404: 'Not Found' } } };
  t.equal(replyProblem('GET', short, 200, json, '{"id":"x"}'), undefined);
  t.equal(replyProblem('GET', short, 404, json, '{"Error":"Not Found"}'), undefined);
  t.match(replyProblem('GET', short, 409, json, '{"Error":"Taken"}'), /refusal 409/);
  t.match(replyProblem('GET', short, 200, json, '{"id":1}'), /does not match its schema/);
  // A route that declares nothing is the completeness test's to report, not the check's.
  t.equal(replyProblem('GET', { credential: CREDENTIALS.user }, 418, json, '{}'), undefined);
});

t.test('through the kit: a reply that breaks its declaration is logged and kept for the test helper', async (t) => {
  const app = fastify({ logger: false });
  const services = { config: { max_preauth_body_bytes: 1024 } } as unknown as Services;
  const route = makeRouter(app, services, { parse: parseWith, refusal: (e) => e });
  const doc = { replies: { 200: z.strictObject({ ok: z.literal(true) }) }, refusals: [said(404, 'Gone')] };
  route('GET', '/fine', { access: 'public', doc }, () => ({ ok: true }));
  route('GET', '/extra', { access: 'public', doc }, () => ({ ok: true, extra: 1 }));
  route('GET', '/teapot', { access: 'public', doc }, ({ reply }) => reply.code(418).send({ error: 'I am a teapot' }));
  route('GET', '/gone', { access: 'public', doc }, ({ reply }) => reply.code(404).send({ error: 'Gone' }));
  route('GET', '/typed', { access: 'public', query: z.object({ n: z.coerce.number() }), doc }, ({ reply }) => reply.code(400).send({ error: 'not declared' }));
  app.setErrorHandler((err: { statusCode?: number; status?: number; body?: unknown }, _req, reply) => reply.code(err.status ?? err.statusCode ?? 500).send(err.body ?? {}));
  const before = replyViolations.length;
  // /typed?n=x is refused by the kit's schema step (generic); /typed?n=1 answers a 400 of its own that is not declared.
  for (const url of ['/fine', '/extra', '/teapot', '/gone', '/typed?n=x', '/typed?n=1']) await app.inject({ method: 'GET', url });
  const found = replyViolations.splice(before);
  t.equal(found.length, 3, found.join('\n'));
  t.match(found[0], /^GET \/extra: the body does not match its schema/);
  t.match(found[1], /^GET \/teapot: refusal 418 \{"error":"I am a teapot"\} is not declared/);
  t.match(found[2], /^GET \/typed: refusal 400 \{"error":"not declared"\} is not declared/);
  await app.close();
});
