/**
 * The player paths over HTTP (seeds/000, "Player / Digital Signage"): the
 * document's whole workflow (upload -> playlist -> media -> clear-cache ->
 * resync), every error, auth refusals, traversal attempts against sentinel
 * files, a cut upload, concurrent uploads, and the audit lines.
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rawRequest } from './helpers/raw.js';
import { SENTINEL, entries, entriesOnceEmpty, uploadTo, type FileWorld } from './helpers/files.js';
import { adminClient, startDaemon, type HttpResult } from './helpers/daemon.js';
import { login, rest } from './helpers/meeting.js';
import { pattern, sendMultipart, sha256Of, type Part } from './helpers/multipart.js';
import { PlayerMedia } from '../src/player/media.js';

const TOKEN = 'player-token-0001';
const OTHER_TOKEN = 'player-token-0002';
const EXTENSIONS = 'mp4, webm, mkv, mov, m4v, jpg, jpeg, png, webp';

type World = FileWorld;

async function world(t: Test, config: Record<string, string> = {}): Promise<World> {
  const d = await startDaemon({ config });
  t.teardown(() => d.close());
  const cce = await adminClient(d);
  for (const [key, token] of [['DEV-0001', TOKEN], ['DEV-0002', OTHER_TOKEN]]) {
    const r = await cce.cmd({ cmd: 'CREATE', class: 'Device', args: { device_key: key, token_code: token, authorized: true }, format: 'json' });
    if (r.status !== 200) throw new Error(`CREATE Device: ${r.text}`);
  }
  const bearer = await login(d);
  const root = d.config.player_storage_root;
  return { d, cce, admin: rest(d, { authorization: `Bearer ${bearer}` }), bearer, root };
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const device = (token = TOKEN) => ({ 'x-device-token': token });

const video = (filename: string, content: Buffer | (() => AsyncIterable<Buffer>), size = Buffer.isBuffer(content) ? content.length : 0): Part => ({
  name: 'video', filename, content, size,
});
const field = (name: string, value: string): Part => ({ name, value });

const upload = (w: World, parts: Part[], headers?: Record<string, string>) => uploadTo(w, '/api/player/upload', parts, headers);

const raw = (w: World, rawPath: string, headers: Record<string, string> = {}, method = 'GET') => rawRequest(w.d.port, rawPath, headers, method);

function bad(t: Test, r: { status: number; body: unknown }, status: number, error: string, what = error): void {
  t.equal(r.status, status, `${what}: status`);
  t.strictSame(r.body, { error }, `${what}: body`);
}

const audits = (w: World, op: string) =>
  w.d.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === op);

t.test('the document\'s workflow: upload, playlist, each media, clear-cache, resync', async (t) => {
  const w = await world(t);
  // The operator's imposed media; a file of another extension and a dotfile are not media.
  const library = path.join(w.root, 'medias_library', 'imposed_medias');
  mkdirSync(library, { recursive: true });
  const intro = Buffer.from('imposed intro video');
  writeFileSync(path.join(library, 'intro.mp4'), intro);
  writeFileSync(path.join(library, 'notes.txt'), 'not a media');
  writeFileSync(path.join(library, '.hidden.mp4'), 'not a name');

  // 1. The admin uploads a video.
  const clip = Buffer.from('a'.repeat(5000) + 'clip');
  const up = await upload(w, [field('device_key', 'DEV-0001'), field('mode', 'loop'), field('order', '5'), field('title', 'Promo'), video('promo.mp4', clip)]);
  t.equal(up.status, 200);
  t.strictSame(up.body, { ok: true, hash: sha1(clip), device_key: 'DEV-0001', dir: 'uploads', file: 'promo.mp4', size: clip.length, sha256: sha256(clip) });

  // 2. ... which updated the playlist, created with the imposed media first. 3. The agent reads it.
  const pl = await rest(w.d, device()).get('/api/player/playlist/DEV-0001');
  t.equal(pl.status, 200);
  t.match(pl.body.updated_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  t.strictSame(pl.body, {
    device_key: 'DEV-0001',
    updated_at: pl.body.updated_at,
    items: [
      { dir: 'default', file: 'intro.mp4', size: intro.length, sha256: sha256(intro), hash: sha1(intro), url: '/api/player/media/DEV-0001/default/intro.mp4', title: 'intro.mp4', mode: null, order: 0 },
      { dir: 'uploads', file: 'promo.mp4', size: clip.length, sha256: sha256(clip), hash: sha1(clip), url: '/api/player/media/DEV-0001/uploads/promo.mp4', title: 'Promo', mode: 'loop', order: 5 },
    ],
  });
  t.strictSame(JSON.parse(readFileSync(path.join(w.root, 'DEV-0001', 'playlist.json'), 'utf8')), pl.body, 'the reply is playlist.json');
  t.strictSame((await w.admin.get('/api/player/playlist/DEV-0001')).body, pl.body, 'an admin reads the same');

  // ... and downloads each media.
  for (const [item, content] of [[pl.body.items[0], intro], [pl.body.items[1], clip]] as const) {
    const r = await raw(w, item.url, device());
    t.equal(r.status, 200, item.url);
    t.ok(r.body.equals(content), `${item.url}: the bytes`);
    t.equal(r.headers['content-length'], String(content.length));
    t.equal(r.headers.etag, `"${item.sha256}"`);
    t.equal(r.headers['accept-ranges'], 'bytes');
    t.equal(r.headers['content-type'], 'application/octet-stream');
  }
  const url = pl.body.items[1].url as string;
  const etag = `"${sha256(clip)}"`;
  const part = await raw(w, url, { ...device(), range: 'bytes=4998-' });
  t.equal(part.status, 206, 'a resumed download');
  t.equal(part.body.toString(), 'aaclip');
  t.equal(part.headers['content-range'], `bytes 4998-5003/${clip.length}`);
  t.equal(part.headers['content-length'], '6');
  t.equal((await raw(w, url, { ...device(), 'if-none-match': etag })).status, 304);
  const past = await raw(w, url, { ...device(), range: 'bytes=9000-' });
  t.equal(past.status, 416);
  t.equal(past.headers['content-range'], `bytes */${clip.length}`);
  t.strictSame(JSON.parse(past.body.toString()), { error: 'Range not satisfiable' });
  const stale = await raw(w, url, { ...device(), range: 'bytes=0-0', 'if-range': '"another"' });
  t.equal(stale.status, 200, 'If-Range with another tag: the whole file');
  t.equal(stale.body.length, clip.length);
  t.equal((await raw(w, url, { authorization: `Bearer ${w.bearer}`, range: 'bytes=0-3' })).body.toString(), 'aaaa', 'an admin downloads too');

  // Re-uploading a name replaces file and item, keeping its title, mode and place; a new one goes last.
  const clip2 = Buffer.from('second version');
  const again = await upload(w, [field('device_key', 'DEV-0001'), video('promo.mp4', clip2)]);
  t.equal(again.body.hash, sha1(clip2));
  const news = Buffer.from('news');
  t.equal((await upload(w, [field('device_key', 'DEV-0001'), video('news.webm', news), field('title', 'Title after the video')])).status, 200);
  const empty = await upload(w, [field('device_key', 'DEV-0001'), field('order', '1'), video('blank.png', Buffer.alloc(0))]);
  t.equal(empty.status, 200);
  const items = (await w.admin.get('/api/player/playlist/DEV-0001')).body.items;
  t.strictSame(items.map((i: any) => [i.dir, i.file, i.title, i.mode, i.order, i.size]), [
    ['default', 'intro.mp4', 'intro.mp4', null, 0, intro.length],
    ['uploads', 'blank.png', 'blank.png', null, 1, 0],
    ['uploads', 'promo.mp4', 'Promo', 'loop', 5, clip2.length],
    ['uploads', 'news.webm', 'Title after the video', null, 6, news.length],
  ]);
  const zero = await raw(w, '/api/player/media/DEV-0001/uploads/blank.png', device());
  t.equal(zero.status, 200);
  t.equal(zero.headers['content-length'], '0');
  t.equal(zero.body.length, 0);

  // 4. The device clears its cache: uploaded media go, playlist.json and default/ stay.
  const clear = await rest(w.d, device()).post('/api/player/clear-cache/DEV-0001');
  t.equal(clear.status, 200);
  t.strictSame(clear.body, { ok: true });
  const folder = path.join(w.root, 'DEV-0001');
  t.same(entries(folder), ['default', 'playlist.json', 'uploads']);
  t.same(entries(path.join(folder, 'uploads')), [], 'no media, no sidecar');
  t.same(entries(path.join(folder, 'default')), ['.intro.mp4.sha256', 'intro.mp4']);
  bad(t, await rest(w.d, device()).get('/api/player/media/DEV-0001/uploads/promo.mp4'), 404, 'Media not found');
  // The resync: the playlist lists what is left, and it downloads.
  const after = await rest(w.d, device()).get('/api/player/playlist/DEV-0001');
  t.strictSame(after.body.items.map((i: any) => i.url), ['/api/player/media/DEV-0001/default/intro.mp4']);
  t.ok((await raw(w, after.body.items[0].url, device())).body.equals(intro));
  // Uploads after a clear work as before.
  t.equal((await upload(w, [field('device_key', 'DEV-0001'), video('promo.mp4', clip)])).body.file, 'promo.mp4');
  t.equal((await rest(w.d, device()).get('/api/player/playlist/DEV-0001')).body.items.length, 2);

  // The audit: who, what, size, sha256; never a token.
  t.match(audits(w, 'PLAYER_UPLOAD')[0], { by: 'admin(2)', device_key: 'DEV-0001', dir: 'uploads', file: 'promo.mp4', size: clip.length, sha256: sha256(clip), hash: sha1(clip) });
  t.match(audits(w, 'PLAYER_DOWNLOAD').find((l) => l.start === 4998), { by: 'device:DEV-0001', file: 'promo.mp4', size: clip.length, sha256: sha256(clip), end: clip.length - 1 });
  t.match(audits(w, 'PLAYER_CLEAR'), [{ by: 'device:DEV-0001', device_key: 'DEV-0001', files: 3, bytes: clip2.length + news.length }]);
  t.equal(audits(w, 'PLAYER_DOWNLOAD').filter((l) => l.file === 'promo.mp4' && l.start === 0).length, 3, '304 and 416 are not downloads');
  t.notOk(w.d.logs.some((l) => l.includes(TOKEN) || l.includes(w.bearer)), 'no token in any log line');
});

t.test('credentials: the device itself or an admin; the upload an admin only', async (t) => {
  const w = await world(t);
  const cce = w.cce;
  await cce.cmd({ cmd: 'CREATE', class: 'Device', args: { device_key: 'DEV-GONE', token_code: 'revoked-token-0001', revoked: true }, format: 'json' });
  t.equal((await w.admin.post('/api/users', { username: 'viewer', password: 'viewer-pass', role: 'user', authorized: 1 })).status, 200);
  const userBearer = await login(w.d, 'viewer', 'viewer-pass');
  t.equal((await upload(w, [field('device_key', 'DEV-0001'), video('a.mp4', Buffer.from('a'))])).status, 200);
  const paths: [string, string][] = [
    ['GET', '/api/player/playlist/DEV-0001'],
    ['GET', '/api/player/media/DEV-0001/uploads/a.mp4'],
    ['POST', '/api/player/clear-cache/DEV-0001'],
  ];
  for (const [method, p] of paths) {
    const call = (headers: Record<string, string>) => raw(w, p, headers, method).then((r) => ({ status: r.status, body: JSON.parse(r.body.toString()) }));
    bad(t, await call({}), 401, 'Missing bearer token or X-Device-Token', `${p} without credentials`);
    bad(t, await call(device('wrong-token')), 403, 'Invalid device credentials', `${p} with a wrong token`);
    bad(t, await call(device(OTHER_TOKEN)), 403, 'Invalid device credentials', `${p} with another device's token`);
    bad(t, await call({ authorization: 'Bearer not-a-token' }), 403, 'Invalid or expired token', `${p} with a bad bearer token`);
    bad(t, await call({ authorization: `Bearer ${userBearer}` }), 403, 'Administrator rights required', `${p} as a non-admin user`);
    const gone = await raw(w, p.replace('DEV-0001', 'DEV-GONE'), device('revoked-token-0001'), method);
    t.equal(gone.status, 403, `${p}: a revoked device`);
    const unknown = await raw(w, p.replace('DEV-0001', 'DEV-9999'), { authorization: `Bearer ${w.bearer}` }, method);
    t.equal(unknown.status, 404, `${p}: an admin naming an unknown device`);
    t.strictSame(JSON.parse(unknown.body.toString()), { error: 'Device not found' });
  }
  // The other device sees its own (empty) playlist, never DEV-0001's media.
  t.strictSame((await rest(w.d, device(OTHER_TOKEN)).get('/api/player/playlist/DEV-0002')).body.items, []);
  t.equal((await rest(w.d, device(OTHER_TOKEN)).get('/api/player/media/DEV-0002/uploads/a.mp4')).status, 404);

  const parts = [field('device_key', 'DEV-0001'), video('b.mp4', Buffer.from('b'))];
  bad(t, await upload(w, parts, {}), 401, 'Missing bearer token', 'upload without a token');
  bad(t, await upload(w, parts, device()), 401, 'Missing bearer token', 'upload with a device token');
  bad(t, await upload(w, parts, { authorization: 'Bearer nope' }), 403, 'Invalid or expired token', 'upload with a bad token');
  bad(t, await upload(w, parts, { authorization: `Bearer ${userBearer}` }), 403, 'Administrator rights required', 'upload as a user');
  t.same(entries(path.join(w.root, 'DEV-0001', 'uploads')), ['.a.mp4.sha256', 'a.mp4'], 'the refused uploads wrote nothing');
});

t.test('upload errors: each status and message, nothing left on disk', async (t) => {
  const w = await world(t, { player_max_file_bytes: String(1 << 20), player_allowed_extensions: '.MP4, webm' });
  const uploads = path.join(w.root, 'DEV-0001', 'uploads');
  const small = Buffer.from('small');
  const key = field('device_key', 'DEV-0001');
  const cases: [Part[], number, string][] = [
    [[video('a.mp4', small), key], 400, 'device_key must come before video'],
    [[key, { name: 'file', filename: 'a.mp4', content: small, size: small.length }], 400, 'Unexpected file field "file"'],
    [[key, video('a b.mp4', small)], 400, 'Invalid file name'],
    [[key, video('a.jpg', small)], 400, 'File extension not allowed (allowed: mp4, webm)'],
    [[key, video('noextension', small)], 400, 'File extension not allowed (allowed: mp4, webm)'],
    [[field('device_key', 'DEV-9999'), video('a.mp4', small)], 404, 'Device not found'],
    [[field('device_key', '../DEV-0001'), video('a.mp4', small)], 404, 'Device not found'],
    [[key], 400, 'Missing video'],
    [[field('title', 'x')], 400, 'Missing device_key or video'],
    [[key, field('mode', 'two words'), video('a.mp4', small)], 400, 'mode: expected 1 to 32 letters, digits, _ or -'],
    [[key, field('order', '-1'), video('a.mp4', small)], 400, 'order: expected a whole number below 1000000'],
    [[key, video('a.mp4', small), field('order', '1000000')], 400, 'order: expected a whole number below 1000000'],
    [[key, field('title', 't'.repeat(201)), video('a.mp4', small)], 400, 'title: Too big: expected string to have <=200 characters'],
    [[key, field('title', 't'.repeat(300)), video('a.mp4', small)], 400, 'title: Too small: expected string to have >=1 characters'],
    [[key, field('colour', 'red'), video('a.mp4', small)], 400, 'body: Unrecognized key: "colour"'],
  ];
  for (const [parts, status, error] of cases) bad(t, await upload(w, parts), status, error);
  const json = await w.admin.post('/api/player/upload', { device_key: 'DEV-0001' });
  bad(t, json, 400, 'multipart/form-data expected');
  // Said to be multipart, but not: the client's mistake, 400, never a 500.
  for (const [contentType, body] of [['multipart/form-data', '"xD'], ['multipart/form-data', ''], ['multipart/form-data; boundary=x', '--x\r\ncut']]) {
    const r = await fetch(`${w.d.url}/api/player/upload`, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${w.bearer}` }, body });
    bad(t, { status: r.status, body: await r.json() }, 400, 'Malformed multipart body', `${contentType} ${JSON.stringify(body)}`);
  }
  bad(t, await upload(w, [key, video('a.mp4', small), video('b.mp4', small)]), 413, 'reach files limit', 'two videos');
  // Over the limit: declared, or counted while streaming (chunked).
  const big = video('big.mp4', pattern(3 << 20), 3 << 20);
  for (const length of [undefined, 'chunked' as const]) {
    const r = await sendMultipart(`${w.d.url}/api/player/upload`, [key, big], { headers: { authorization: `Bearer ${w.bearer}` }, length });
    bad(t, r as HttpResult, 413, 'File too large', `413 (${length ?? 'content-length'})`);
  }
  t.same(entries(uploads), [], 'no file, no temp file from any refused upload');
  t.notOk(existsSync(path.join(w.root, 'DEV-0001', 'playlist.json')), 'no playlist change');
  // Exactly the limit, with an upper-case allowed extension, is accepted.
  const exact = await upload(w, [key, video('exact.MP4', pattern(1 << 20), 1 << 20)]);
  t.equal(exact.status, 200);
  t.equal(exact.body.sha256, await sha256Of(pattern(1 << 20)));

  t.equal((await w.cce.cmd('SUSPEND maintenance')).status, 200);
  bad(t, await upload(w, [key, video('a.mp4', small)]), 503, 'Writes are suspended', 'upload while suspended');
  bad(t, await w.admin.post('/api/player/clear-cache/DEV-0001'), 503, 'Writes are suspended', 'clear while suspended');
  t.equal((await w.admin.get('/api/player/playlist/DEV-0001')).status, 200, 'reads go on');
  t.same(entries(uploads), ['.exact.MP4.sha256', 'exact.MP4']);
});

t.test('a 2 GiB-declared upload cut after a few MiB leaves nothing behind', async (t) => {
  const w = await world(t, { player_max_file_bytes: String(3 * 1024 ** 3) });
  const uploads = path.join(w.root, 'DEV-0001', 'uploads');
  const huge = 2 * 1024 ** 3;
  const r = await sendMultipart(`${w.d.url}/api/player/upload`, [field('device_key', 'DEV-0001'), video('huge.mp4', pattern(huge), huge)], {
    headers: { authorization: `Bearer ${w.bearer}` },
    cutAfter: 6 << 20,
  });
  t.equal(r, 'cut');
  t.same(await entriesOnceEmpty(uploads), [], 'no file, no temp file');
  t.strictSame((await w.admin.get('/api/player/playlist/DEV-0001')).body.items, [], 'no playlist item');
  t.equal(audits(w, 'PLAYER_UPLOAD').length, 0);
  t.equal((await upload(w, [field('device_key', 'DEV-0001'), video('after.mp4', Buffer.from('ok'))])).status, 200, 'uploads still work');
});

t.test('concurrent uploads to one device: every item lands in the playlist', async (t) => {
  const w = await world(t);
  const names = Array.from({ length: 8 }, (_, i) => `clip${i}.mp4`);
  const replies = await Promise.all(names.map((n) => upload(w, [field('device_key', 'DEV-0001'), video(n, Buffer.from(n))])));
  t.same(replies.map((r) => r.status), names.map(() => 200));
  const items = (await w.admin.get('/api/player/playlist/DEV-0001')).body.items;
  t.same(items.map((i: any) => i.file).sort(), names);
  t.same(items.map((i: any) => i.order).sort((a: number, b: number) => a - b), [0, 1, 2, 3, 4, 5, 6, 7], 'distinct places');
  t.same(entries(path.join(w.root, 'DEV-0001', 'uploads')).filter((n) => !n.startsWith('.')), names);
});

t.test('traversal: nothing outside player_storage_root is read or written', async (t) => {
  const w = await world(t);
  const outside = path.dirname(w.root);
  const sentinel = path.join(outside, 'sentinel.mp4');
  writeFileSync(sentinel, SENTINEL);
  const elsewhere = path.join(outside, 'elsewhere');
  mkdirSync(elsewhere);
  writeFileSync(path.join(elsewhere, 'sentinel.mp4'), SENTINEL);
  mkdirSync(path.join(elsewhere, 'sub'));
  writeFileSync(path.join(elsewhere, 'sub', 'sentinel.mp4'), SENTINEL);
  const dev = path.join(w.root, 'DEV-0001');
  mkdirSync(path.join(dev, 'uploads'), { recursive: true });
  symlinkSync(elsewhere, path.join(dev, 'evil')); // a folder leading out of the root
  symlinkSync(sentinel, path.join(dev, 'uploads', 'link.mp4')); // a symlinked file
  symlinkSync(sentinel, path.join(dev, 'playlist.json')); // a symlinked playlist
  symlinkSync(elsewhere, path.join(w.root, 'DEV-0002')); // a whole device folder leading out
  const outsideBefore = entries(outside);
  const auth = { authorization: `Bearer ${w.bearer}` };

  const paths: [string, number][] = [
    ['/api/player/media/DEV-0001/uploads/..%2F..%2Fsentinel.mp4', 400],
    ['/api/player/media/DEV-0001/uploads/%2e%2e%2f%2e%2e%2fsentinel.mp4', 400],
    ['/api/player/media/DEV-0001/../sentinel.mp4', 400],
    ['/api/player/media/DEV-0001/%2e%2e/sentinel.mp4', 400],
    ['/api/player/media/DEV-0001/uploads/..', 400],
    ['/api/player/media/DEV-0001/uploads/%2Fetc%2Fpasswd', 400],
    ['/api/player/media/DEV-0001/uploads/sentinel.mp4%00.mp4', 400],
    ['/api/player/media/DEV-0001/uploads/..%5C..%5Csentinel.mp4', 400],
    ['/api/player/media/DEV-0001/uploads/%D1%96ntro.mp4', 400], // Cyrillic і, a look-alike of i
    ['/api/player/media/DEV-0001/uploads/a%EF%BC%8Emp4', 400], // fullwidth full stop
    ['/api/player/media/DEV-0001/uploads/.link.mp4.sha256', 400], // dotfiles are not names
    ['/api/player/media/DEV-0001/evil/sentinel.mp4', 400], // a folder whose realpath leaves the root
    ['/api/player/media/DEV-0001/uploads/link.mp4', 404], // a symlinked file is never followed
    ['/api/player/media/DEV-0002/uploads/sentinel.mp4', 404], // DEV-0002 leads out, its uploads/ does not exist
    ['/api/player/media/..%2FDEV-0001/uploads/link.mp4', 400],
    ['/api/player/media/DEV-0002/x/..%2F..%2Fsentinel.mp4', 400],
  ];
  for (const [p, status] of paths) {
    for (const headers of [auth, device()]) {
      const r = await raw(w, p, headers);
      if (headers === auth) t.equal(r.status, status, p);
      t.notMatch(r.body.toString('latin1'), SENTINEL, `${p} reads nothing outside`);
    }
  }
  const escaped = await raw(w, '/api/player/media/DEV-0002/sub/sentinel.mp4', device(OTHER_TOKEN));
  bad(t, { status: escaped.status, body: JSON.parse(escaped.body.toString()) }, 400, 'Path escapes player_storage_root', 'a media through a device folder leading out');
  bad(t, await rest(w.d, device(OTHER_TOKEN)).get('/api/player/playlist/DEV-0002'), 400, 'Path escapes player_storage_root', 'its playlist');
  bad(t, await rest(w.d, device(OTHER_TOKEN)).post('/api/player/clear-cache/DEV-0002'), 400, 'Path escapes player_storage_root', 'its clear-cache');
  bad(t, await upload(w, [field('device_key', 'DEV-0002'), video('x.mp4', Buffer.from('overwritten'))]), 400, 'Path escapes player_storage_root', 'an upload to it');

  const names = ['../sentinel.mp4', '../../sentinel.mp4', '/tmp/sentinel.mp4', '..\\sentinel.mp4', 'a\u0000.mp4', 'іntro.mp4', '.hidden.mp4', 'uploads/../../x.mp4'];
  for (const name of names) bad(t, await upload(w, [field('device_key', 'DEV-0001'), video(name, Buffer.from('overwritten'))]), 400, 'Invalid file name', JSON.stringify(name));

  // A symlinked playlist.json counts as none: a new one replaces the link, the target stays.
  const pl = await rest(w.d, device()).get('/api/player/playlist/DEV-0001');
  t.equal(pl.status, 200);
  t.strictSame(pl.body.items, []);
  // clear-cache does not follow the symlinked folder; the symlinked file is not a media.
  t.strictSame((await rest(w.d, device()).post('/api/player/clear-cache/DEV-0001')).body, { ok: true });

  t.equal(readFileSync(sentinel, 'utf8'), SENTINEL, 'sentinel untouched');
  t.same(entries(elsewhere), ['sentinel.mp4', 'sub'], 'nothing written or removed through a symlinked folder');
  t.same(entries(path.join(elsewhere, 'sub')), ['sentinel.mp4']);
  t.equal(readFileSync(path.join(elsewhere, 'sentinel.mp4'), 'utf8'), SENTINEL);
  t.same(entries(outside), outsideBefore, 'nothing new next to the root');
});

t.test('a playlist.json that is not a playlist is a 500 with the reason in the log', async (t) => {
  const w = await world(t);
  const dev = path.join(w.root, 'DEV-0001');
  mkdirSync(dev, { recursive: true });
  writeFileSync(path.join(dev, 'playlist.json'), '{"items": 3}');
  bad(t, await w.admin.get('/api/player/playlist/DEV-0001'), 500, 'Internal error', 'not a playlist');
  rmSync(path.join(dev, 'playlist.json'));
  mkdirSync(path.join(dev, 'playlist.json'));
  bad(t, await w.admin.get('/api/player/playlist/DEV-0001'), 500, 'Internal error', 'a folder');
  t.ok(w.d.logs.some((l) => l.includes('"internal error"') && l.includes('EISDIR')));
  // A device folder that is a file: no folder is made through it.
  writeFileSync(path.join(w.root, 'DEV-0002'), 'not a folder');
  bad(t, await w.admin.get('/api/player/playlist/DEV-0002'), 500, 'Internal error', 'a device folder that is a file');
  bad(t, await upload(w, [field('device_key', 'DEV-0002'), video('x.mp4', Buffer.from('x'))]), 500, 'Internal error', 'an upload into it');
  t.equal(readFileSync(path.join(w.root, 'DEV-0002'), 'utf8'), 'not a folder');
  // One failure does not block the device's queue.
  rmSync(path.join(dev, 'playlist.json'), { recursive: true });
  t.equal((await w.admin.get('/api/player/playlist/DEV-0001')).status, 200);
});

t.test('a library file removed between listing and copying is skipped', async (t) => {
  const dir = t.testdir({});
  const media = new PlayerMedia(dir, new Set(['mp4']), () => '2025-06-01 00:00:00');
  media.storage.list = async () => [{ name: 'vanished.mp4', size: 1, sha256: '' }];
  t.strictSame(await media.playlist('DEV-0001'), { device_key: 'DEV-0001', updated_at: '2025-06-01 00:00:00', items: [] });
});
