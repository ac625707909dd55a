/**
 * Generated requests to the Meeting and Pantahub facades' routes (the list the server
 * registers, routes.ts): path parameters, queries, JSON bodies built from the
 * facade's field names, bodies that are not JSON, small multipart uploads,
 * and every kind of credential.
 */
import fc from 'fast-check';
import { anyJson, nasty, type Vocabulary } from './vocabulary.js';
import type { RouteDef } from './routes.js';

export type RestIdentity = 'admin' | 'user' | 'device' | 'ssh' | 'pantahub' | 'none' | 'forged';

export interface RestCase {
  as: RestIdentity;
  method: string;
  path: string;
  contentType?: string;
  body?: string;
}

/** The field names the Meeting paths read (their zod schemas and the document). */
const FIELDS = [
  'action', 'ap_password', 'authorized', 'device_key', 'device_name', 'device_type', 'devicekey', 'devicetype', 'distribution', 'error',
  'icon_path', 'id', 'ip_address', 'limit', 'lines', 'mode', 'name', 'note', 'offset', 'order', 'parent_device_key', 'password', 'platform',
  'prefix', 'product_serial', 'pubkey', 'revoked', 'role', 'serial_prefix', 'service', 'services', 'ssh_public_key', 'status', 'title',
  'token_code', 'token_count', 'upnp', 'url', 'user', 'user_name', 'username', 'local_port', 'port', 'bundles', 'ghost_candidate_url',
  'fullName', 'email', 'ssh_pubkey', 'files', 'since', 'label',
  // Pantahub's (seed 004).
  'secret', 'device-meta', 'user-meta', 'nick', 'challenge', 'owner', 'owner-nick', 'default-user-meta', 'max-uses', 'expires-at',
];

const BOUNDARY = 'fuzz-boundary-41c7';

function segment(v: Vocabulary, name: string): fc.Arbitrary<string> {
  const known: Record<string, string[]> = {
    key: [v.deviceKey, v.deviceKey.toLowerCase(), 'NOPE0000'],
    id: [...v.oids.admin, 'rpi4', '0', '-1', v.pantahubId, '0'.repeat(24)],
    type: ['rpi4', 'esp32', 'nope'],
    dist: ['prod', 'nightly'],
    file: ['firmware.bin', 'a.img', 'x.exe'],
    dir: ['default', 'uploads', 'medias_library'],
  };
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...(known[name] ?? ['x'])) },
    fc.constantFrom('..', '%2e%2e', '%2e%2e%2f%2e%2e', '.hidden', 'a%00b', '%ff', '%', 'a%2fb', '~root', 'CON', ' ', '%20', 'a'.repeat(300)),
    nasty.map((s) => encodeURIComponent(s.toWellFormed())),
  ).map((s) => (s === '' ? 'x' : s));
}

function pathOf(v: Vocabulary, url: string): fc.Arbitrary<string> {
  const parts = url.split('/').map((p) => (p.startsWith(':') ? segment(v, p.slice(1)) : fc.constant(p)));
  const query = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), nasty), nasty, { maxKeys: 3 }).map((q) => {
    const s = new URLSearchParams(q as Record<string, string>).toString();
    return s === '' ? '' : `?${s}`;
  });
  return fc.tuple(fc.tuple(...parts), fc.option(query, { freq: 2 })).map(([ps, q]) => ps.join('/') + (q ?? ''));
}

/** A small multipart body with the fields the upload paths read, in any order. */
const multipartBody: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom('devicetype', 'distribution', 'device_key', 'mode', 'order', 'title', 'x'), fc.oneof(fc.constantFrom('rpi4', 'prod', '1'), nasty))
        .map(([n, val]) => `Content-Disposition: form-data; name="${n}"\r\n\r\n${val}`),
      fc.tuple(fc.constantFrom('file', 'video', 'other'), fc.oneof(fc.constantFrom('fw.bin', 'clip.mp4', '../x.bin', '.h.bin', 'a.exe'), nasty), fc.string({ maxLength: 50 }))
        .map(([n, f, data]) => `Content-Disposition: form-data; name="${n}"; filename="${f}"\r\nContent-Type: application/octet-stream\r\n\r\n${data}`),
    ),
    { maxLength: 5 },
  )
  .map((parts) => parts.map((p) => `--${BOUNDARY}\r\n${p}\r\n`).join('') + `--${BOUNDARY}--\r\n`);

const jsonBody = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELDS) }, nasty), anyJson, { maxKeys: 5 }).map((o) => JSON.stringify(o)) },
  anyJson.map((x) => JSON.stringify(x) ?? 'null'),
  fc.constantFrom('', '{', '{"a":', 'null', '[]', '{"__proto__":{"admin":true}}', 'not json'),
);

export function restCase(v: Vocabulary, routes: readonly RouteDef[]): fc.Arbitrary<RestCase> {
  const body = fc.oneof(
    { weight: 6, arbitrary: jsonBody.map((b) => ({ contentType: 'application/json', body: b })) },
    multipartBody.map((b) => ({ contentType: `multipart/form-data; boundary=${BOUNDARY}`, body: b })),
    fc.tuple(fc.constantFrom('text/plain', 'multipart/form-data', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16'), nasty).map(([contentType, b]) => ({ contentType, body: b })),
    fc.constant({} as { contentType?: string; body?: string }),
  );
  return fc
    .tuple(
      fc.constantFrom(...routes),
      fc.constantFrom<RestIdentity>('admin', 'admin', 'user', 'user', 'device', 'ssh', 'pantahub', 'none', 'forged'),
      fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), { freq: 10 }),
    )
    .chain(([r, as, otherMethod]) =>
      fc.tuple(pathOf(v, r.url), r.method === 'GET' && otherMethod === null ? fc.constant({}) : body).map(([p, b]) => ({ as, method: otherMethod ?? r.method, path: p, ...b })),
    );
}
