/**
 * The declarations kept true by the replies themselves: with
 * CCED_CHECK_REPLIES=1 in the environment (the test helper sets it; off
 * otherwise), the facade kit checks every reply of a declared route against
 * its declaration: a success status must be declared, with a body its schema
 * accepts (declare objects with z.strictObject, so an undeclared field is a
 * mismatch too); a refusal must be one the route declares, body for body,
 * or one every path has (generic.ts) raised where those are raised: by the
 * kit (a schema, the credential), by fastify or a plugin (an `FST_` code),
 * by the gate or a ban (fastify's `{statusCode, error, message}` shape), or
 * an unexpected failure (500).
 * A mismatch is logged and kept in `replyViolations`; the test helper fails
 * the test that caused it when its daemon closes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { successReplies, type ReplyBody, type RouteDeclaration } from './declaration.js';
import { genericErrors } from './generic.js';

/** Every mismatch seen in this process, as `METHOD url: problem`. */
export const replyViolations: string[] = [];

const switchSchema = z.enum(['', '0', '1']).default('');

/** Refusals the kit raised itself: a part refused by its schema, a refused credential. */
const kitRefusals = new WeakSet<object>();

/** Requests whose refusal is one every path has (the kit's own, or fastify's). */
const genericReplies = new WeakSet<FastifyRequest>();

/** Marks a refusal the kit raises as one every path has; returns it. */
export function generic<E>(err: E): E {
  if (typeof err === 'object' && err !== null) kitRefusals.add(err);
  return err;
}

/** The kit's onError hook: notes a refusal every path has (the kit's, or fastify's and its plugins' `FST_` codes). */
export async function noteGeneric(req: FastifyRequest, _reply: FastifyReply, err: Error & { code?: unknown }): Promise<void> {
  if (kitRefusals.has(err) || (typeof err.code === 'string' && err.code.startsWith('FST_'))) genericReplies.add(req);
}

/** Whether replies are checked (CCED_CHECK_REPLIES=1); any other value than 0, 1 or nothing is a mistake worth stopping for. */
export function checkingReplies(env: NodeJS.ProcessEnv = process.env): boolean {
  const parsed = switchSchema.safeParse(env.CCED_CHECK_REPLIES);
  if (!parsed.success) throw new Error(`environment: CCED_CHECK_REPLIES: expected 0 or 1 (got ${JSON.stringify(env.CCED_CHECK_REPLIES).slice(0, 40)})`);
  return parsed.data === '1';
}

/** A declared body with `{name}` placeholders against an actual one. */
function sameBody(declared: unknown, actual: unknown): boolean {
  if (typeof declared === 'string') {
    if (typeof actual !== 'string') return false;
    const pattern = declared.split(/\{[a-z_ ]+\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+');
    return new RegExp(`^${pattern}$`, 's').test(actual);
  }
  if (declared === null || typeof declared !== 'object') return declared === actual;
  if (actual === null || typeof actual !== 'object') return false;
  const d = declared as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  const keys = Object.keys(d);
  return keys.length === Object.keys(a).length && keys.every((k) => k in a && sameBody(d[k], a[k]));
}

function parseJson(payload: unknown): { ok: true; value: unknown } | { ok: false } {
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
  if (text === undefined) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function successProblem(bodies: readonly ReplyBody[], contentType: string, payload: unknown): string | undefined {
  const media = contentType.split(';')[0]!.trim();
  if (media === 'application/json') {
    const json = parseJson(payload);
    if (!json.ok) return 'a JSON content type with a body that is not JSON';
    const schemas = bodies.filter((b): b is z.ZodType => !('media' in b));
    if (schemas.length === 0) return 'a JSON body where none is declared';
    const issues = schemas.map((s) => s.safeParse(json.value)).filter((r) => !r.success);
    if (issues.length < schemas.length) return undefined;
    const first = issues[0]!.error!.issues[0]!;
    return `the body does not match its schema (${first.path.join('.') || 'body'}: ${first.message}): ${JSON.stringify(json.value).slice(0, 300)}`;
  }
  const declared = bodies.filter((b): b is { media: string } => 'media' in b && typeof b.media === 'string').map((b) => b.media);
  if (declared.includes(media) || (media === '' && declared.includes(''))) return undefined;
  return `content type '${media}' where ${declared.length ? declared.map((m) => `'${m}'`).join(', ') : 'JSON'} is declared`;
}

/** What is wrong with one reply of a declared route, or undefined. */
export function replyProblem(method: string, d: RouteDeclaration, status: number, contentType: string, payload: unknown, generic = false): string | undefined {
  const successes = successReplies(d.doc);
  const own = d.doc?.refusals;
  const meanings = d.doc?.errors;
  if (successes === undefined || (own === undefined && meanings === undefined)) return undefined; // not declared: the completeness test's to report
  if (status < 400) {
    const bodies = successes[status];
    return bodies ? successProblem(bodies, contentType, payload) : `status ${status} is not a declared success`;
  }
  const json = parseJson(payload);
  const body = json.ok ? json.value : payload;
  if (own?.some((r) => r.status === status && sameBody(r.body, body))) return undefined;
  // `errors` (status to meaning, the short form) states no text: its statuses are checked, not their bodies.
  if (meanings && status in meanings) return undefined;
  const gateShaped = typeof (body as { statusCode?: unknown } | null)?.statusCode === 'number';
  if (status in genericErrors(method, d) && (generic || gateShaped || status === 500)) return undefined;
  return `refusal ${status} ${JSON.stringify(body)?.slice(0, 300)} is not declared`;
}

/** The kit's onSend hook for one route. */
export function replyCheck(url: string, d: RouteDeclaration) {
  return async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const status = reply.statusCode;
    const problem = replyProblem(req.method === 'HEAD' ? 'GET' : req.method, d, status, String(reply.getHeader('content-type') ?? ''), payload, genericReplies.has(req));
    if (problem !== undefined) {
      replyViolations.push(`${req.method} ${url}: ${problem}`);
      req.log.error({ route: `${req.method} ${url}`, status, problem }, 'reply does not match its declaration');
    }
    return payload;
  };
}
