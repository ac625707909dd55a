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
