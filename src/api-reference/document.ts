/**
 * The OpenAPI 3.1 document of the daemon, built from the routes fastify knows
 * (routes.ts): a route that carries a declaration (declaration.ts; the facade
 * kit writes one for each of its routes: credential, zod params/query/body,
 * reply, errors) is described from it; /v2/cce from
 * the envelope and the command table (cce.ts), /v2/events from events.ts; the reference's own paths from
 * page.ts. A route none of these describes is left out, and
 * test/openapi.test.ts fails on it.
 */
import { successReplies, type Refused, type ReplyBody, type RouteDeclaration } from './declaration.js';
import { GATE_ERRORS, genericErrors } from './generic.js';
import type { KnownRoute } from './routes.js';
import type { z } from 'zod';
import { fieldsOf, jsonSchemaOf, type JsonSchema } from './schema.js';
import { ccePathItem } from './cce.js';
import { eventsOperation } from './events.js';

const meetingError: JsonSchema = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] };

/** `/api/devices/:key` as OpenAPI writes it: `/api/devices/{key}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{wildcard}');
}

function parameters(url: string, d: RouteDeclaration): JsonSchema[] {
  const out: JsonSchema[] = [];
  const declared = d.params ? fieldsOf(d.params) : [];
  for (const name of [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!)) {
    out.push({ name, in: 'path', required: true, schema: declared.find((f) => f.name === name)?.schema ?? { type: 'string' } });
  }
  for (const f of d.query ? fieldsOf(d.query) : []) {
    const { description, ...schema } = f.schema;
    out.push({ name: f.name, in: 'query', required: f.required, schema, ...(description ? { description } : {}) });
  }
  return out;
}

function requestBody(d: RouteDeclaration): JsonSchema | undefined {
  const form = d.doc?.multipart;
  if (form) {
    const properties: Record<string, JsonSchema> = Object.fromEntries(Object.entries(form.fields).map(([name, description]) => [name, { type: 'string', description }]));
    properties[form.file] = { type: 'string', format: 'binary', description: 'The file; after the text fields' };
    const required = Object.keys(properties).filter((n) => !form.optional?.includes(n));
    return { required: true, content: { 'multipart/form-data': { schema: { type: 'object', properties, required } } } };
  }
  if (!d.body) return undefined;
  // An optional body's schema accepts undefined: JSON Schema then has no type, the body is not required.
  return { required: !d.body.safeParse(undefined).success, content: { 'application/json': { schema: jsonSchemaOf(d.body) } } };
}

/** One success body as OpenAPI content: a JSON Schema, or a media type's bytes (none for `''`). */
function content(bodies: readonly ReplyBody[]): JsonSchema {
  const out: JsonSchema = {};
  for (const b of bodies) {
    if ('media' in b && typeof b.media === 'string') {
      if (b.media !== '') out[b.media] = { schema: { type: 'string', format: 'binary' } };
    } else out['application/json'] = { schema: jsonSchemaOf(b as z.ZodType, 'output') };
  }
  return Object.keys(out).length ? { content: out } : {};
}

const SUCCESS: Record<string, string> = { '200': 'Success', '202': 'Accepted: under way', '206': 'Part of the file (Range)', '304': 'Not modified (If-None-Match)' };

function responses(method: string, d: RouteDeclaration): JsonSchema {
  const out: JsonSchema = {};
  for (const [status, bodies] of Object.entries(successReplies(d.doc) ?? { 200: [] })) out[status] = { description: SUCCESS[status] ?? 'Success', ...content(bodies) };
  const errors: Record<number, string> = { ...genericErrors(method, d), ...(d.doc?.errors ?? {}) };
  // The path's own refusals: their exact bodies as examples, their texts in the description.
  const own = new Map<number, Refused['body'][]>();
  const ownErrorBody = d.doc?.errorBody ? jsonSchemaOf(d.doc.errorBody, 'output') : undefined;
  for (const r of d.doc?.refusals ?? []) own.set(r.status, [...(own.get(r.status) ?? []), r.body]);
  for (const status of new Set([...Object.keys(errors).map(Number), ...own.keys()])) {
    const bodies = own.get(status) ?? [];
    const description = [errors[status], bodies.map((b) => JSON.stringify(b)).join(' | ')].filter(Boolean).join("; or the path's own: ");
    const json = bodies.filter((b) => typeof b !== 'string');
    const text = bodies.filter((b) => typeof b === 'string');
    const examples = (list: readonly unknown[]) => (list.length ? { examples: Object.fromEntries(list.map((b, i) => [`e${i + 1}`, { value: b }])) } : {});
    // A facade with its own error body (Pantahub's {"Error"}) answers in it, except the gate's refusals, which come before the route.
    const gateOnly = status in GATE_ERRORS && !(status in (d.doc?.errors ?? {})) && !(status in d.credential.errors);
    const schema = ownErrorBody && !gateOnly ? ownErrorBody : json.every((b) => 'error' in b) ? meetingError : { type: 'object' };
    out[status] = {
      description,
      content: {
        ...(json.length || !text.length ? { 'application/json': { schema, ...examples(json) } } : {}),
        ...(text.length ? { 'text/plain': { schema: { type: 'string' }, ...examples(text) } } : {}),
      },
    };
  }
  return out;
}

function operation(method: string, url: string, d: RouteDeclaration): JsonSchema {
  const access = d.credential;
  const body = requestBody(d);
  return {
    // `/devices/` and `/devices` are two paths: the trailing slash is spelled out.
    operationId: `${method.toLowerCase()}${openApiPath(url).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}${url.endsWith('/') && url !== '/' ? 'Slash' : ''}`,
    tags: [url.split('/')[2] ?? 'api'],
    summary: d.doc?.summary ?? `${method} ${url}`,
    description: `Credential: ${access.words}`,
    security: access.security,
    parameters: parameters(url, d),
    ...(body ? { requestBody: body } : {}),
    responses: responses(method, d),
  };
}

export function buildDocument(routes: readonly KnownRoute[], version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (method: string, url: string, op: unknown) => {
    (paths[openApiPath(url)] ??= {})[method.toLowerCase()] = op;
  };
  for (const r of routes) {
    if (r.method === 'HEAD') continue; // fastify answers HEAD for every GET: documented with the GET
    if (r.api) add(r.method, r.url, operation(r.method, r.url, r.api));
    else if (r.method === 'POST' && r.url === '/v2/cce') paths['/v2/cce'] = ccePathItem();
    else if ((r.method === 'GET' || r.method === 'POST') && r.url === '/v2/events') add(r.method, r.url, eventsOperation(r.method));
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'cced',
      version,
      description: 'The daemon\'s HTTP API: POST /v2/cce (the CCE protocol) and the REST facades. Every GET path also answers HEAD.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An OIDC access token or a bearer grant (LOGIN, AUTH)' },
        deviceToken: { type: 'apiKey', in: 'header', name: 'X-Device-Token', description: 'The token_code of the device the path names' },
        sshToken: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Meeting-Ssh-Token',
          description: 'The SSH-side callers (AuthorizedKeysCommand, ForceCommand): the content of <state_dir>/ssh-api-token',
        },
        pantahubToken: { type: 'http', scheme: 'bearer', description: 'A Pantahub token: POST /auth/login with a user name and password, or a device prn and its secret' },
      },
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
  };
}
