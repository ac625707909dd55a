/**
 * The OpenAPI 3.1 document of the daemon, built from the routes fastify knows
 * (routes.ts): a route that carries a declaration (declaration.ts; the facade
 * kit writes one for each of its routes: credential, zod params/query/body,
 * reply, errors) is described from it; /v2/cce from
 * the envelope and the command table (cce.ts), /v2/events from events.ts; the reference's own paths from
 * page.ts. A route none of these describes is left out, and
 * test/openapi.test.ts fails on it.
 */
import type { RouteDeclaration } from './declaration.js';
import type { KnownRoute } from './routes.js';
import { fieldsOf, jsonSchemaOf, type JsonSchema } from './schema.js';
import { ccePathItem } from './cce.js';
import { eventsOperation } from './events.js';

/** Every path answers these, whoever declared it (the gate, src/http/server.ts). */
const GATE_ERRORS: Record<number, string> = {
  403: 'The address is outside the gate (api_access, device_access) or not allowed at this door',
  429: 'The address is banned for repeated failed authentication (Retry-After)',
};

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

function operation(method: string, url: string, d: RouteDeclaration): JsonSchema {
  const access = d.doc?.credential ?? d.credential;
  const errors: Record<number, string> = { ...GATE_ERRORS, ...access.errors };
  if (d.params || d.query || d.body || d.doc?.multipart) errors[400] = 'A path parameter, the query or the body does not match its schema';
  if (d.body || d.doc?.multipart) errors[413] = 'The body is larger than allowed';
  Object.assign(errors, d.doc?.errors ?? {});
  const ok = d.doc?.reply
    ? { content: { 'application/json': { schema: jsonSchemaOf(d.doc.reply, 'output') } } }
    : d.doc?.replyType
      ? { content: { [d.doc.replyType]: { schema: { type: 'string', format: 'binary' } } } }
      : {};
  const responses: JsonSchema = { '200': { description: 'Success', ...ok } };
  const ownError = d.doc?.errorBody ? jsonSchemaOf(d.doc.errorBody, 'output') : meetingError;
  for (const [status, description] of Object.entries(errors)) {
    // The gate answers before the route: its refusals keep the gate's shape.
    const schema = status in GATE_ERRORS && !(status in (d.doc?.errors ?? {})) && !(status in access.errors) ? meetingError : ownError;
    responses[status] = { description, content: { 'application/json': { schema } } };
  }
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
    responses,
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
      },
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
  };
}
