/**
 * The API reference over HTTP: the OpenAPI document at /api/openapi.json and
 * a Swagger UI page at /api whose scripts and styles are served from the
 * installed swagger-ui-dist package (no CDN: the page works on a host with no
 * way out). Behind the same gate as every path; no credential is needed, the
 * document says nothing a configuration or a secret would.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { KnownRoute } from './routes.js';
import { buildDocument } from './document.js';
import { ANYONE, said } from './declaration.js';

const require = createRequire(import.meta.url);
const uiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const version = packageVersion(path.dirname(fileURLToPath(import.meta.url)));

/** The daemon's package.json is two folders up from src/ and three from dist/src/: the first one found upwards. */
function packageVersion(dir: string): string {
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The only files the page loads, with their types: nothing else of the package is reachable. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
};

// The start script is a file of its own, not inline, so the page needs no 'unsafe-inline' script policy.
const START = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#api', validatorUrl: null, deepLinking: true });\n`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cced API reference</title>
<link rel="stylesheet" href="/api/assets/swagger-ui.css">
</head>
<body>
<div id="api"></div>
<script src="/api/assets/swagger-ui-bundle.js"></script>
<script src="/api/assets/start.js"></script>
</body>
</html>
`;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:";

/** What GET /api/openapi.json answers, as far as its own declaration says. */
const openApiDocument = z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });

const assetNames = ['start.js', ...Object.keys(ASSETS)];
const assetParams = z.object({ file: z.enum(assetNames) });

export async function apiReference(app: FastifyInstance, { routes }: { routes: readonly KnownRoute[] }): Promise<void> {
  // Built once, on first ask: by then every route is registered.
  let document: string | undefined;
  const files = new Map<string, Buffer>();

  app.get('/api/openapi.json', { config: { api: { credential: ANYONE, doc: { summary: 'This document (OpenAPI 3.1)', replies: { 200: openApiDocument }, refusals: [] } } } }, (_req, reply) => {
    document ??= JSON.stringify(buildDocument(routes, version));
    return reply.type('application/json; charset=utf-8').send(document);
  });

  app.get('/api', { config: { api: { credential: ANYONE, doc: { summary: 'The API reference page (Swagger UI)', replies: { 200: { media: 'text/html' } }, refusals: [] } } } }, (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).send(PAGE),
  );

  app.get(
    '/api/assets/:file',
    // The file names are not declared as a schema: an unknown one is 404 No such asset, not a 400.
    { config: { api: { credential: ANYONE, doc: { summary: `A script or style of the reference page: ${assetNames.join(', ')}`, replies: { 200: [...new Set(Object.values(ASSETS))].map((t) => ({ media: t.split(';')[0]! })) }, refusals: [said(404, 'No such asset')] } } } },
    (req, reply) => {
      const parsed = assetParams.safeParse(req.params);
      if (!parsed.success) return reply.code(404).send({ error: 'No such asset' });
      const file = parsed.data.file;
      if (file === 'start.js') return reply.type(ASSETS['swagger-ui-bundle.js']!).send(START);
      let body = files.get(file);
      if (!body) files.set(file, (body = readFileSync(path.join(uiDir, file))));
      return reply.type(ASSETS[file]!).header('cache-control', 'public, max-age=86400').send(body);
    },
  );
}
