/**
 * The API reference over HTTP: /api/openapi.json is an OpenAPI 3.1 document
 * that lists every route the running daemon answers (a route added without
 * documentation fails here), with exact entries built from the zod schemas;
 * /api is the Swagger UI page and every asset it loads is served by the daemon.
 */
import t from 'tap';
import { http, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { COMMAND_TABLE } from '../commands/index.js';
import { ERROR_CODES } from '../src/errors.js';

/** A path with its parameters unnamed: fastify's tree merges `:type` and `:key` at one position into `:type|:key`. */
const unnamed = (p: string) => p.replace(/\{[^}]+\}/g, '{}').replace(/:[^/]+/g, '{}');

/** Every "METHOD path" fastify routes, read from its own route tree (printRoutes), parameters unnamed. */
function routesOf(d: TestDaemon): string[] {
  const out: string[] = [];
  const prefixes: string[] = [];
  for (const line of d.app.server.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([\s│├└─]*?)(\S+)(?: \(([A-Z, ]+)\))?$/.exec(line.trimEnd());
    if (!m || m[2] === undefined) continue;
    const depth = m[1]!.length / 4;
    const full = (prefixes[depth - 1] ?? '') + m[2];
    prefixes[depth] = full;
    prefixes.length = depth + 1;
    for (const method of m[3] ? m[3].split(', ') : []) out.push(`${method} ${unnamed(full)}`);
  }
  return out;
}

/** Every "METHOD path" the document lists; HEAD goes with GET (the document says so). */
function documented(doc: any): Set<string> {
  const out = new Set<string>();
  for (const [p, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) {
      out.add(`${method.toUpperCase()} ${unnamed(p)}`);
      if (method === 'get') out.add(`HEAD ${unnamed(p)}`);
    }
  }
  return out;
}

t.test('the document lists every route the daemon answers, and nothing else', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const r = await http(`${d.url}/api/openapi.json`, undefined, { method: 'GET' });
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /^application\/json/);
  const doc = r.body;
  const routes = routesOf(d);
  t.ok(routes.length > 60, `the route tree was read (${routes.length} method+path pairs)`);
  t.ok(routes.includes('POST /v2/cce'));
  const listed = documented(doc);
  t.strictSame(routes.filter((x) => !listed.has(x)), [], 'every route of the daemon is documented');
  t.strictSame([...listed].filter((x) => !routes.includes(x)), [], 'every documented path is a route');
});

/** GET over HTTP, optionally from another loopback address (127.0.0.x stands for a remote host). */
const get = (d: TestDaemon, path: string, localAddress?: string) => http(`${d.url}${path}`, undefined, { method: 'GET', ...(localAddress ? { localAddress } : {}) });

t.test('the document is OpenAPI 3.1, its entries built from the declarations', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const doc = (await get(d, '/api/openapi.json')).body;

  // Structure: the fields OpenAPI 3.1 requires, each operation with responses, each path parameter declared and required.
  t.equal(doc.openapi, '3.1.0');
  t.match(doc.info, { title: 'cced', version: /^\d+\.\d+\.\d+/ });
  t.strictSame(Object.keys(doc.components.securitySchemes).sort(), ['bearer', 'deviceToken', 'pantahubToken', 'sshToken']);
  const ids = new Set<string>();
  for (const [p, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    t.match(p, /^\//, `${p} starts with /`);
    for (const [method, op] of Object.entries(item)) {
      t.ok(['get', 'put', 'post', 'patch', 'delete'].includes(method), `${method} ${p} is an HTTP method`);
      t.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${p} has responses`);
      for (const status of Object.keys(op.responses)) t.match(status, /^[1-5]\d\d$/);
      t.notOk(ids.has(op.operationId), `${op.operationId} is unique`);
      ids.add(op.operationId);
      const inPath = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((x: any) => x.in === 'path');
      t.strictSame(declared.map((x: any) => x.name).sort(), inPath, `${method} ${p}: path parameters`);
      for (const x of declared) t.equal(x.required, true);
      for (const s of op.security ?? []) for (const name of Object.keys(s)) t.ok(doc.components.securitySchemes[name], `${name} is a declared scheme`);
    }
  }

  // GET /api/devices: a person's bearer token, the query with its limits from the zod schema, the declared reply.
  const list = doc.paths['/api/devices'].get;
  t.strictSame(list.security, [{ bearer: [] }]);
  t.strictSame(list.parameters, [
    { name: 'limit', in: 'query', required: false, schema: { default: 25, type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER }, description: 'Page size; larger asks are served 100' },
    { name: 'offset', in: 'query', required: false, schema: { default: 0, type: 'integer', minimum: 0, maximum: 1e9 } },
    { name: 'prefix', in: 'query', required: false, schema: { default: '', type: 'string', pattern: '^[A-Za-z0-9_-]{0,64}$' } },
    { name: 'after', in: 'query', required: false, schema: { type: 'string', minLength: 1, maxLength: 128 } },
  ]);
  t.strictSame(Object.keys(list.responses).sort(), ['200', '400', '401', '403', '429', '500', '503']);
  t.match(list.responses['200'].content['application/json'].schema, { type: 'object', required: ['devices', 'total', 'limit', 'offset'], properties: { limit: { maximum: 100 } } });
  t.strictSame(list.responses['401'].content['application/json'].schema, { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] });

  // A device path: the device's own token or an administrator's bearer token.
  const online = doc.paths['/api/devices/{key}/online'].post;
  t.strictSame(online.security, [{ deviceToken: [] }, { bearer: [] }]);
  t.strictSame(online.parameters[0], { name: 'key', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 128 } });
  t.match(doc.paths['/api/devices/{key}'].get.responses['404'], { description: 'Device not found' });

  // The SSH-side paths state the credential they check: the SSH token or an admin's bearer token; the read
  // paths also let a local caller in without one; request-tunnel-port takes the SSH token or the device's.
  t.match(doc.components.securitySchemes.sshToken, { type: 'apiKey', in: 'header', name: 'X-Meeting-Ssh-Token' });
  for (const [p, m] of [['/api/forcecommand/register_device_key', 'post'], ['/api/forcecommand/validate_device_key', 'post'], ['/api/forcecommand/get_device_key', 'get'], ['/api/forcecommand/remove_device_key', 'delete']] as const) {
    t.strictSame(doc.paths[p][m].security, [{ sshToken: [] }, { bearer: [] }], `${m} ${p}: the SSH token or an admin`);
    t.strictSame(Object.keys(doc.paths[p][m].responses).filter((x) => x === '401' || x === '403'), ['401', '403'], `${m} ${p}: its refusals`);
  }
  t.strictSame(doc.paths['/api/forcecommand/validate_device_key'].post.requestBody.content['application/json'].schema.required, ['pubkey']);
  for (const p of ['/api/ssh-keys', '/api/ssh-keys/devices']) {
    t.strictSame(doc.paths[p].get.security, [{ sshToken: [] }, { bearer: [] }, {}], `GET ${p}: the SSH token, an admin, or a local caller`);
    t.match(doc.paths[p].get.parameters, [{ name: 'user', in: 'query', required: true }]);
  }
  t.strictSame(doc.paths['/api/devices/{key}/request-tunnel-port'].post.security, [{ sshToken: [] }, { deviceToken: [] }, { bearer: [] }]);
  t.strictSame(doc.paths['/api/flash/{type}/{dist}/{file}'].get.security, [{ deviceToken: [] }, { bearer: [] }], 'a firmware download: a device or an admin');
  const localOnly = doc.paths['/api/users/authorized-keys'].get;
  t.match(localOnly, { security: [], description: 'Credential: A local address (local_addresses), without a credential.', responses: { 403: { description: 'Not from a local address' } } });

  // An administrator's JSON body from its zod schema; a public path asks for nothing.
  const manual = doc.paths['/api/devices/manual-create'].post;
  t.equal(manual.requestBody.required, true);
  t.match(manual.requestBody.content['application/json'].schema, { type: 'object', required: ['devicekey', 'token_code', 'device_type'], properties: { devicekey: { type: 'string', minLength: 1, maxLength: 128 } } });
  t.strictSame(Object.keys(manual.responses).sort(), ['200', '400', '401', '403', '409', '413', '415', '429', '500', '503']);
  t.equal(doc.paths['/api/devices/generate-and-register'].post.requestBody.required, false);
  t.strictSame(doc.paths['/api/auth/login'].post.security, []);
  t.strictSame(Object.keys(doc.paths['/api/assets/{file}'].get.responses).sort(), ['200', '403', '404', '429', '500'], 'an unknown asset is 404, not 400');

  // Declared replies and refusals: the success body's schema, each refusal's exact body as an example.
  const one = doc.paths['/api/devices/{key}'].get.responses;
  t.match(one['200'].content['application/json'].schema, { type: 'object', additionalProperties: false, properties: { authorized: { type: 'boolean' }, services: { type: 'array' } } });
  t.strictSame(one['404'].content['application/json'].examples, { e1: { value: { error: 'Device not found' } } });
  const service = doc.paths['/api/devices/{key}/service'].post.responses;
  t.strictSame(Object.keys(service).filter((s) => s < '300'), ['200', '202'], 'a tunnel answers 200 when open, 202 while pending');
  t.match(service['403'].content['application/json'].examples, { e3: { value: { error: 'No tokens left' } } });
  const invalid = doc.paths['/api/forcecommand/validate_device_key'].post.responses['401'].content['application/json'];
  t.strictSame(Object.values(invalid.examples).map((e: any) => e.value), [{ error: '{why}' }, { status: 'invalid' }], "the credential chain's words, then the ForceCommand shape");
  t.strictSame(invalid.schema, { type: 'object' });
  t.strictSame(doc.paths['/api/auth/login'].post.responses['401'].content['text/plain'].examples, { e1: { value: 'Unauthorized: invalid client secret' } });
  t.strictSame(Object.keys(doc.paths['/api/flash/{type}/{dist}/{file}'].get.responses['206'].content), ['application/octet-stream']);
  t.notOk(doc.paths['/api/flash/{type}/{dist}/{file}'].get.responses['304'].content, 'a 304 has no body');
  t.notOk(doc.paths['/api/devices/{key}/ssh-key'].get.responses['200'], 'a path that never succeeds declares no success');
  t.match(doc.paths['/api/devices/{key}/ssh-key'].get.responses['501'].description, 'Not implemented');

  // The multipart uploads (registered through the kit without a JSON body).
  t.strictSame(doc.paths['/api/flash/upload'].post.requestBody.content['multipart/form-data'].schema.required, ['devicetype', 'distribution', 'file']);
  t.match(doc.paths['/api/player/upload'].post.requestBody.content['multipart/form-data'].schema, { required: ['device_key', 'video'], properties: { video: { format: 'binary' } } });
});

t.test('POST /v2/cce: the envelope, one example per verb, the status table', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.close());
  const cce = (await get(d, '/api/openapi.json')).body.paths['/v2/cce'].post;
  const body = cce.requestBody.content['application/json'];
  t.match(body.schema, { type: 'object', required: ['cmd'], properties: { cmd: { type: 'string', minLength: 1 }, format: { enum: ['cce', 'json'] } } });
  t.strictSame(Object.keys(body.examples).sort(), [...COMMAND_TABLE.keys()].sort(), 'one example per verb');
  // Every example is a valid envelope, and the daemon answers it with the verb it names (not 402 BAD COMMAND).
  for (const [verb, ex] of Object.entries(body.examples as Record<string, { value: { cmd: string } }>)) {
    t.equal(ex.value.cmd.split(' ')[0], verb);
    const r = await http(`${d.url}/v2/cce`, ex.value);
    t.not(r.body?.data?.errors?.[0]?.code, 402, `${verb}'s example is a command the daemon knows`);
  }
  for (const [code, e] of Object.entries(ERROR_CODES)) {
    t.ok(cce.description.includes(`| ${code} | ${e.word} | ${e.http} |`), `code ${code} in the status table`);
    t.match(cce.responses[String(e.http)].description, `${code} ${e.word}`);
  }
});

t.test('GET /api: the Swagger UI page, every asset it loads served by the daemon, behind the gate', async (t) => {
  const d = await startDaemon({ config: { api_access: '127.0.0.2' } });
  t.teardown(() => d.close());
  const page = await get(d, '/api');
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'/);
  const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  t.strictSame(assets, ['/api/assets/swagger-ui.css', '/api/assets/swagger-ui-bundle.js', '/api/assets/start.js'], 'only local assets');
  for (const a of assets) {
    const r = await get(d, a);
    t.equal(r.status, 200, a);
    t.match(r.headers['content-type'], a.endsWith('.css') ? /^text\/css/ : /^application\/javascript/);
    t.ok(r.text.length > 0);
  }
  t.match((await get(d, '/api/assets/start.js')).text, "url: '/api/openapi.json'");
  t.match((await get(d, '/api/assets/swagger-ui-bundle.js')).text, 'SwaggerUIBundle');
  t.equal((await get(d, '/api/assets/package.json')).status, 404, 'nothing else of the package');
  t.equal((await get(d, '/api/assets/..%2F..%2Fpackage.json')).status, 404);
  // The gate: a whitelisted remote address reads it like any people path, an unknown address is refused.
  t.equal((await get(d, '/api', '127.0.0.2')).status, 200);
  t.equal((await get(d, '/api/openapi.json', '127.0.0.2')).status, 200);
  const refused = await get(d, '/api/openapi.json', '127.0.0.4');
  t.equal(refused.status, 403);
  t.strictSame(refused.body, { statusCode: 403, error: 'Forbidden', message: 'origin not allowed' });
});
