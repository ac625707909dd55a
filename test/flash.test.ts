/**
 * Firmware files over HTTP: upload, list, download (whole, range, 416, 304),
 * replace, delete, every error, a cut upload, the traversal list, audit lines,
 * the Distribution `files` property, and filesForDevice.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rawRequest } from './helpers/raw.js';
import { SENTINEL, entries, entriesOnceEmpty, uploadTo, type FileWorld } from './helpers/files.js';
import { adminClient, startDaemon, type CceClient, type HttpResult } from './helpers/daemon.js';
import { adminRest, rest } from './helpers/meeting.js';
import { pattern, sendMultipart, sha256Of, type Part } from './helpers/multipart.js';
import { filesForDevice, syncFiles } from '../src/flash/catalog.js';
import { FlashStorage } from '../src/flash/storage.js';
import { noneMatch, parseRange, rangeStillValid } from '../src/flash/ranges.js';

const TOKEN = 'device-token-0001';

type World = FileWorld;

async function create(cce: CceClient, cls: string, args: Record<string, unknown>): Promise<number> {
  const r = await cce.cmd({ cmd: 'CREATE', class: cls, args, format: 'json' });
  if (r.status !== 200) throw new Error(`CREATE ${cls}: ${r.text}`);
  return Number(r.body.data.oid);
}

async function world(t: Test, config: Record<string, string> = {}): Promise<World> {
  const d = await startDaemon({ config });
  t.teardown(() => d.close());
  const cce = await adminClient(d);
  const admin = await adminRest(d);
  const login = await rest(d).post('/api/auth/login', { username: 'admin', password: 'admin-test-password' });
  await create(cce, 'DeviceType', { name: 'rpi4' });
  await create(cce, 'Distribution', { name: 'prod', device_type: 'rpi4' });
  await create(cce, 'Distribution', { name: 'beta', device_type: 'rpi4' });
  await create(cce, 'Device', { device_key: 'DEV-0001', token_code: TOKEN, authorized: true, device_type: 'rpi4', distribution: 'prod' });
  return { d, cce, admin, bearer: login.body.token, root: d.config.flash_storage_root };
}

const fields = (type = 'rpi4', dist = 'prod'): Part[] => [
  { name: 'devicetype', value: type },
  { name: 'distribution', value: dist },
];
const filePart = (filename: string, content: Buffer | (() => AsyncIterable<Buffer>), size = Buffer.isBuffer(content) ? content.length : 0): Part => ({
  name: 'file', filename, content, size,
});

const upload = (w: World, parts: Part[], headers?: Record<string, string>) => uploadTo(w, '/api/flash/upload', parts, headers);

const rawGet = (w: World, rawPath: string, headers: Record<string, string> = {}, method = 'GET') => rawRequest(w.d.port, rawPath, headers, method);

const deviceHeaders = { 'x-device-key': 'DEV-0001', 'x-device-token': TOKEN };


t.test('upload, list, download, replace, delete', async (t) => {
  const w = await world(t);
  const prod = path.join(w.root, 'rpi4', 'prod');
  t.ok(statSync(path.join(w.root, 'rpi4')).isDirectory(), 'CREATE DeviceType made its folder');
  t.ok(statSync(prod).isDirectory(), 'CREATE Distribution made its folder');

  const content = Buffer.from('firmware v1 '.repeat(1000));
  const sha = await sha256Of(content);
  const up = await upload(w, [...fields(), filePart('firmware.bin', content), { name: 'note', value: 'ignored after the file' }]);
  t.equal(up.status, 200);
  t.same(up.body, { success: true, file: 'firmware.bin', sha256: sha, size: content.length });
  t.same(entries(prod), ['.firmware.bin.sha256', 'firmware.bin'], 'the file and its sidecar, no temp file');
  t.same(readFileSync(path.join(prod, 'firmware.bin')), content);

  const listed = await rest(w.d, deviceHeaders).get('/api/flash/DEV-0001/distribution-files');
  t.equal(listed.status, 200);
  t.same(listed.body, { devicetype: 'rpi4', distribution: 'prod', files: ['firmware.bin'], file_details: [{ name: 'firmware.bin', size: content.length, sha256: sha }] });
  t.same((await w.admin.get('/api/flash/DEV-0001/distribution-files')).body.files, ['firmware.bin'], 'an admin may list too');

  // A flash request spends a token and names the same files to fetch.
  t.equal((await w.admin.put('/api/devices/DEV-0001/tokens', { token_count: 1 })).status, 200);
  const fr = await rest(w.d, deviceHeaders).post('/api/devices/DEV-0001/flash-request');
  t.same(fr.body, { success: true, tokens_left: 0, devicetype: 'rpi4', distribution: 'prod', files: ['firmware.bin'], file_details: [{ name: 'firmware.bin', size: content.length, sha256: sha }] });

  const all = await w.cce.cmd({ cmd: 'GETALL', class: 'Distribution', args: { name: 'prod' }, format: 'json' });
  const dist = Object.values(all.body.data.objects as Record<string, { OBJECT: Record<string, unknown> }>)[0]!;
  t.same(dist.OBJECT.files, ['firmware.bin'], 'GETALL shows the files');

  // Whole download, as the device and as the admin.
  const whole = await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', deviceHeaders);
  t.equal(whole.status, 200);
  t.same(whole.body, content);
  t.equal(whole.headers['content-length'], String(content.length));
  t.equal(whole.headers.etag, `"${sha}"`);
  t.equal(whole.headers['accept-ranges'], 'bytes');
  t.equal((await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', { authorization: `Bearer ${w.bearer}` })).status, 200);

  const part = await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', { ...deviceHeaders, range: 'bytes=10-19' });
  t.equal(part.status, 206);
  t.equal(part.headers['content-range'], `bytes 10-19/${content.length}`);
  t.equal(part.headers['content-length'], '10');
  t.same(part.body, content.subarray(10, 20));
  const tail = await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', { ...deviceHeaders, range: `bytes=${content.length - 5}-` });
  t.same(tail.body, content.subarray(content.length - 5));
  const suffix = await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', { ...deviceHeaders, range: 'bytes=-7' });
  t.same(suffix.body, content.subarray(content.length - 7));

  const unsat = await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', { ...deviceHeaders, range: `bytes=${content.length}-` });
  t.equal(unsat.status, 416);
  t.equal(unsat.headers['content-range'], `bytes */${content.length}`);
  t.same(JSON.parse(unsat.body.toString()), { error: 'Range not satisfiable' });

  const cached = await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', { ...deviceHeaders, 'if-none-match': `W/"x", "${sha}"` });
  t.equal(cached.status, 304);
  t.equal(cached.body.length, 0);
  const stale = await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', { ...deviceHeaders, range: 'bytes=0-0', 'if-range': '"other"' });
  t.equal(stale.status, 200, 'If-Range with another tag: the whole file');
  t.equal(stale.body.length, content.length);

  // Replace: same name, new content, still one file.
  const v2 = Buffer.from('firmware v2');
  const up2 = await upload(w, [...fields(), filePart('firmware.bin', v2)]);
  t.same(up2.body, { success: true, file: 'firmware.bin', sha256: await sha256Of(v2), size: v2.length });
  t.same(entries(prod), ['.firmware.bin.sha256', 'firmware.bin']);
  t.same((await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', deviceHeaders)).body, v2);

  // An empty file is a file.
  const empty = await upload(w, [...fields(), filePart('empty.json', Buffer.alloc(0))]);
  t.equal(empty.body.size, 0);
  const emptyGet = await rawGet(w, '/api/flash/rpi4/prod/empty.json', deviceHeaders);
  t.equal(emptyGet.status, 200);
  t.equal(emptyGet.headers['content-length'], '0');

  // A file copied in by hand: its sha256 is computed on first listing.
  writeFileSync(path.join(prod, 'manual.img'), 'by hand');
  const withManual = await w.admin.get('/api/flash/DEV-0001/distribution-files');
  t.same(withManual.body.files, ['empty.json', 'firmware.bin', 'manual.img']);
  t.equal(withManual.body.file_details[2].sha256, await sha256Of(Buffer.from('by hand')));

  // Delete.
  t.same((await w.admin.del('/api/flash/rpi4/prod/firmware.bin')).body, { success: true });
  const again = await w.admin.del('/api/flash/rpi4/prod/firmware.bin');
  t.equal(again.status, 404);
  t.same(again.body, { error: 'File not found' });
  t.equal((await rawGet(w, '/api/flash/rpi4/prod/firmware.bin', deviceHeaders)).status, 404);
  t.same(entries(prod), ['.empty.json.sha256', '.manual.img.sha256', 'empty.json', 'manual.img']);
  const after = await w.cce.cmd({ cmd: 'GETALL', class: 'Distribution', args: { name: 'prod' }, format: 'json' });
  t.same(Object.values(after.body.data.objects as Record<string, { OBJECT: Record<string, unknown> }>)[0]!.OBJECT.files, ['empty.json', 'manual.img']);

  // filesForDevice (for flash-request) never fails for a device with nothing to fetch.
  const svc = w.d.app.services;
  const dev = (await svc.store.findOne('Device', '', 'device_key', 'DEV-0001'))!;
  t.same((await filesForDevice(svc, await dev)).files, ['empty.json', 'manual.img']);
  const bare = await create(w.cce, 'Device', { device_key: 'DEV-0002', token_code: 'other-token-000001' });
  t.same(await filesForDevice(svc, bare), { devicetype: '', distribution: '', files: [], file_details: [] });

  // Audit lines: who, what, size, sha256.
  const audit = w.d.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => typeof l.audit === 'string' && String(l.audit).startsWith('FLASH_'));
  const up1 = audit.find((l) => l.audit === 'FLASH_UPLOAD')!;
  t.match(up1, { by: 'admin(2)', device_type: 'rpi4', distribution: 'prod', file: 'firmware.bin', size: content.length, sha256: sha });
  t.match(audit.find((l) => l.audit === 'FLASH_DOWNLOAD' && l.by === 'device:DEV-0001'), { file: 'firmware.bin', size: content.length, start: 0, end: content.length - 1 });
  t.match(audit.find((l) => l.audit === 'FLASH_DELETE'), { by: 'admin(2)', file: 'firmware.bin', size: v2.length });
});

t.test('errors', async (t) => {
  const w = await world(t);
  const small = Buffer.from('x');
  const bad = (r: HttpResult, status: number, error: string, what: string) => {
    t.equal(r.status, status, what);
    t.same(r.body, { error }, what);
  };

  bad(await upload(w, [...fields(), filePart('a.bin', small)], {}), 401, 'Missing bearer token', 'no token');
  bad(await upload(w, [...fields(), filePart('a.bin', small)], { authorization: 'Bearer nope' }), 403, 'Invalid or expired token', 'bad token');
  bad(await w.admin.post('/api/flash/upload', { devicetype: 'rpi4' }), 400, 'multipart/form-data expected', 'JSON body');
  // Said to be multipart, but not: the client's mistake, 400, never a 500.
  for (const [contentType, body] of [['multipart/form-data', '"xD'], ['multipart/form-data', ''], ['multipart/form-data; boundary=x', '--x\r\ncut']]) {
    const r = await fetch(`${w.d.url}/api/flash/upload`, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${w.bearer}` }, body });
    bad({ status: r.status, body: await r.json() } as HttpResult, 400, 'Malformed multipart body', `${contentType} ${JSON.stringify(body)}`);
  }
  bad(await upload(w, [...fields('nope'), filePart('a.bin', small)]), 404, 'Unknown device type', 'unknown type');
  bad(await upload(w, [...fields('rpi4', 'nope'), filePart('a.bin', small)]), 404, 'Unknown distribution', 'unknown distribution');
  bad(await upload(w, [...fields(), filePart('a.exe', small)]), 400, 'File extension not allowed (allowed: bin, img, gz, xz, zst, zip, tar, swu, raucb, json)', 'extension');
  bad(await upload(w, [...fields(), filePart('noext', small)]), 400, 'File extension not allowed (allowed: bin, img, gz, xz, zst, zip, tar, swu, raucb, json)', 'no extension');
  bad(await upload(w, [filePart('a.bin', small), ...fields()]), 400, 'devicetype and distribution must come before file', 'file first');
  bad(await upload(w, [{ name: 'devicetype', value: 'rpi4' }, filePart('a.bin', small)]), 400, 'devicetype and distribution must come before file', 'no distribution');
  bad(await upload(w, fields()), 400, 'Missing file', 'no file');
  bad(await upload(w, [{ name: 'devicetype', value: 'rpi4' }]), 400, 'Missing devicetype, distribution or file', 'nothing');
  bad(await upload(w, [...fields(), { name: 'firmware', filename: 'a.bin', content: small, size: 1 }]), 400, 'Unexpected file field "firmware"', 'file field name');
  bad(await upload(w, [...fields(), filePart('a.bin', small), filePart('b.bin', small)]), 413, 'reach files limit', 'two files');
  bad(await upload(w, [{ name: 'devicetype', value: 'r'.repeat(300) }, { name: 'distribution', value: 'prod' }, filePart('a.bin', small)]), 400, 'Invalid devicetype', 'field cut at fieldSize');

  // Device credentials on a download.
  await w.admin.get('/');
  await upload(w, [...fields(), filePart('fw.bin', small)]);
  const get = (h: Record<string, string>) => rest(w.d, h).get('/api/flash/rpi4/prod/fw.bin');
  bad(await get({}), 401, 'Missing bearer token or X-Device-Token', 'no credentials');
  bad(await get({ 'x-device-token': TOKEN }), 401, 'Missing X-Device-Key', 'token without key');
  bad(await get({ 'x-device-key': 'DEV-0001', 'x-device-token': 'wrong-token' }), 403, 'Invalid device credentials', 'wrong token');
  await create(w.cce, 'Device', { device_key: 'DEV-BETA', token_code: 'beta-token-000001', authorized: true, device_type: 'rpi4', distribution: 'beta' });
  bad(await get({ 'x-device-key': 'DEV-BETA', 'x-device-token': 'beta-token-000001' }), 403, "Not this device's distribution", 'other distribution');
  await create(w.cce, 'Device', { device_key: 'DEV-OFF1', token_code: 'off-token-000001', authorized: false, device_type: 'rpi4', distribution: 'prod' });
  bad(await get({ 'x-device-key': 'DEV-OFF1', 'x-device-token': 'off-token-000001' }), 403, 'Device not authorized', 'not authorized');

  // distribution-files.
  bad(await w.admin.get('/api/flash/NOPE-0000/distribution-files'), 404, 'Device not found', 'unknown device');
  await create(w.cce, 'Device', { device_key: 'DEV-BARE', token_code: 'bare-token-000001' });
  bad(await w.admin.get('/api/flash/DEV-BARE/distribution-files'), 400, 'Device has no device type or distribution', 'no type');
  rmSync(path.join(w.root, 'rpi4', 'beta'), { recursive: true });
  bad(await w.admin.get('/api/flash/DEV-BETA/distribution-files'), 404, 'Distribution folder not found', 'missing folder');
  bad(await w.admin.get('/api/flash/rpi4/beta/b.bin'), 404, 'File not found', 'download from a missing folder');
  // ...which an upload to that (existing) distribution creates again.
  t.equal((await upload(w, [...fields('rpi4', 'beta'), filePart('b.bin', small)])).status, 200);
  t.same((await w.admin.get('/api/flash/DEV-BETA/distribution-files')).body.files, ['b.bin']);

  // A type or distribution name the file pattern refuses gets no folder, and cannot be uploaded to.
  await create(w.cce, 'DeviceType', { name: 'My Board' });
  t.notOk(existsSync(path.join(w.root, 'My Board')));
  bad(await upload(w, [...fields('My Board', 'prod'), filePart('a.bin', small)]), 400, 'Invalid devicetype', 'name with a space');

  // `files` is read-only, even for an admin on /v2/cce.
  const distOid = (await w.d.app.services.store.findOne('Distribution', '', 'name', 'prod'))!;
  const set = await w.cce.cmd({ cmd: 'SET', oid: String(distOid), args: { files: ['forged.bin'] }, format: 'json' });
  t.equal(set.status, 403);
  t.match(set.text, /PERMISSION DENIED files/);
  t.equal((await w.cce.cmd({ cmd: 'SET', oid: String(distOid), args: { description: 'fine' } })).status, 200, 'other properties stay writable');

  // Suspended: uploads and deletes are writes.
  t.equal((await w.cce.cmd('SUSPEND maintenance')).status, 200);
  bad(await upload(w, [...fields(), filePart('a.bin', small)]), 503, 'Writes are suspended', 'upload while suspended');
  bad(await w.admin.del('/api/flash/rpi4/prod/fw.bin'), 503, 'Writes are suspended', 'delete while suspended');
  t.equal((await w.cce.cmd('RESUME')).status, 200);
});

t.test('size limit: 413 whether declared or discovered while streaming', async (t) => {
  const w = await world(t, { flash_max_file_bytes: String(1 << 20) });
  const prod = path.join(w.root, 'rpi4', 'prod');
  const big = filePart('big.bin', pattern(3 << 20), 3 << 20);
  const auth = { authorization: `Bearer ${w.bearer}` };
  for (const length of [undefined, 'chunked' as const]) {
    const r = await sendMultipart(`${w.d.url}/api/flash/upload`, [...fields(), big], { headers: auth, length });
    t.not(r, 'cut');
    t.equal((r as HttpResult).status, 413, `413 (${length ?? 'content-length'})`);
    t.same((r as HttpResult).body, { error: 'File too large' });
  }
  // Exactly the limit is accepted.
  const exact = await upload(w, [...fields(), filePart('exact.bin', pattern(1 << 20), 1 << 20)]);
  t.equal(exact.status, 200);
  t.same(entries(prod), ['.exact.bin.sha256', 'exact.bin'], 'no temp file left by the refused uploads');
});

t.test('a 2 GiB-declared upload cut after a few MiB leaves nothing behind', async (t) => {
  const w = await world(t, { flash_max_file_bytes: String(3 * 1024 ** 3) });
  const prod = path.join(w.root, 'rpi4', 'prod');
  const huge = 2 * 1024 ** 3;
  const r = await sendMultipart(`${w.d.url}/api/flash/upload`, [...fields(), filePart('huge.bin', pattern(huge), huge)], {
    headers: { authorization: `Bearer ${w.bearer}` },
    cutAfter: 6 << 20,
  });
  t.equal(r, 'cut');
  t.same(await entriesOnceEmpty(prod), [], 'no file, no temp file');
  t.same((await w.admin.get('/api/flash/DEV-0001/distribution-files')).body.files, [], 'no partial listing');
  // The daemon still serves uploads.
  t.equal((await upload(w, [...fields(), filePart('after.bin', Buffer.from('ok'))])).status, 200);
});

t.test('traversal: nothing outside flash_storage_root is read or written', async (t) => {
  const w = await world(t);
  const outside = path.dirname(w.root);
  const sentinel = path.join(outside, 'sentinel.bin');
  writeFileSync(sentinel, SENTINEL);
  const before = statSync(sentinel);
  const outsideBefore = entries(outside);
  const auth = { authorization: `Bearer ${w.bearer}` };

  // A symlinked distribution folder pointing outside, and a symlinked file inside a real folder.
  const elsewhere = path.join(outside, 'elsewhere');
  mkdirSync(elsewhere);
  writeFileSync(path.join(elsewhere, 'sentinel.bin'), SENTINEL);
  symlinkSync(elsewhere, path.join(w.root, 'rpi4', 'evil'));
  await create(w.cce, 'Distribution', { name: 'evil', device_type: 'rpi4' });
  symlinkSync(sentinel, path.join(w.root, 'rpi4', 'prod', 'link.bin'));
  await create(w.cce, 'Device', { device_key: 'DEV-EVIL', token_code: 'evil-token-000001', authorized: true, device_type: 'rpi4', distribution: 'evil' });

  const paths: [string, number][] = [
    ['/api/flash/rpi4/prod/..%2F..%2Fsentinel.bin', 400],
    ['/api/flash/rpi4/prod/%2e%2e%2f%2e%2e%2fsentinel.bin', 400],
    ['/api/flash/rpi4/../sentinel.bin', 400],
    ['/api/flash/rpi4/../../sentinel.bin', 404], // four segments: no such route at all
    ['/api/flash/rpi4/prod/..', 400],
    ['/api/flash/rpi4/%2e%2e/sentinel.bin', 400],
    ['/api/flash/%2Ftmp/prod/sentinel.bin', 400],
    ['/api/flash/rpi4/prod/%2Fetc%2Fpasswd', 400],
    ['/api/flash/rpi4/prod/sentinel.bin%00.bin', 400],
    ['/api/flash/rpi4/prod/..%5C..%5Csentinel.bin', 400],
    ['/api/flash/rpi4/prod/%D1%96rmware.bin', 400], // Cyrillic і, a look-alike of i
    ['/api/flash/rpi4/prod/fw%EF%BC%8Ebin', 400], // fullwidth full stop
    ['/api/flash/rpi4/prod/.sentinel.bin.sha256', 400], // dotfiles (sidecars, temp files) are not names
    ['/api/flash/rpi4/evil/sentinel.bin', 400], // a folder whose realpath leaves the root
    ['/api/flash/rpi4/prod/link.bin', 404], // a symlinked file is never followed
  ];
  for (const [p, status] of paths) {
    for (const method of ['GET', 'DELETE']) {
      const r = await rawGet(w, p, auth, method);
      t.equal(r.status, status, `${method} ${p}`);
      t.notMatch(r.body.toString('latin1'), SENTINEL, `${method} ${p} reads nothing outside`);
    }
  }
  t.equal((await rawGet(w, '/api/flash/rpi4/evil/sentinel.bin', { 'x-device-key': 'DEV-EVIL', 'x-device-token': 'evil-token-000001' })).status, 400);
  t.equal((await w.admin.get('/api/flash/DEV-EVIL/distribution-files')).status, 400);
  t.same((await w.admin.get('/api/flash/DEV-0001/distribution-files')).body.files, [], 'the symlinked file is not listed');

  const names: [Part[], string][] = [
    [[...fields('..', 'prod'), filePart('x.bin', Buffer.from(SENTINEL))], 'Invalid devicetype'],
    [[...fields('rpi4', '..'), filePart('x.bin', Buffer.from(SENTINEL))], 'Invalid distribution'],
    [[...fields('../..', 'tmp'), filePart('x.bin', Buffer.from(SENTINEL))], 'Invalid devicetype'],
    [[...fields(), filePart('../sentinel.bin', Buffer.from('overwritten'))], 'Invalid file name'],
    [[...fields(), filePart('../../sentinel.bin', Buffer.from('overwritten'))], 'Invalid file name'],
    [[...fields(), filePart('/tmp/sentinel.bin', Buffer.from('overwritten'))], 'Invalid file name'],
    [[...fields(), filePart('..\\sentinel.bin', Buffer.from('overwritten'))], 'Invalid file name'],
    [[...fields(), filePart('a\u0000.bin', Buffer.from('overwritten'))], 'Invalid file name'],
    [[...fields(), filePart('fіrmware.bin', Buffer.from('overwritten'))], 'Invalid file name'],
    [[...fields(), filePart('.hidden.bin', Buffer.from('overwritten'))], 'Invalid file name'],
    [[...fields('rpi4', 'evil'), filePart('sentinel.bin', Buffer.from('overwritten'))], 'Path escapes flash_storage_root'],
  ];
  for (const [parts, error] of names) {
    const r = await upload(w, parts, auth);
    t.equal(r.status, 400, error);
    t.same(r.body, { error }, error);
  }

  t.equal(readFileSync(sentinel, 'utf8'), SENTINEL, 'sentinel untouched');
  t.equal(readFileSync(path.join(elsewhere, 'sentinel.bin'), 'utf8'), SENTINEL, 'the symlink target untouched');
  t.same(entries(elsewhere), ['sentinel.bin'], 'nothing written through the symlinked folder');
  t.equal(statSync(sentinel).mtimeMs, before.mtimeMs);
  t.same(entries(outside), [...outsideBefore, 'elsewhere'].sort(), 'nothing new next to the root');
});

t.test('odd things found in the store folder', async (t) => {
  const w = await world(t);
  const prod = path.join(w.root, 'rpi4', 'prod');
  const auth = { authorization: `Bearer ${w.bearer}` };
  const get = (p: string) => rawGet(w, p, auth);
  const internal = { error: 'Internal error' };

  // Not regular files: a folder, a FIFO (must not hang the request), a socket.
  mkdirSync(path.join(prod, 'dir.bin'));
  execFileSync('mkfifo', [path.join(prod, 'fifo.bin')]);
  t.equal((await get('/api/flash/rpi4/prod/dir.bin')).status, 404);
  t.equal((await get('/api/flash/rpi4/prod/fifo.bin')).status, 404);
  const sock = createServer();
  await new Promise<void>((r) => sock.listen(path.join(prod, 'sock.bin'), r));
  t.teardown(() => sock.close());
  const onSocket = await get('/api/flash/rpi4/prod/sock.bin');
  t.equal(onSocket.status, 500);
  t.same(JSON.parse(onSocket.body.toString()), internal);
  t.same((await w.admin.get('/api/flash/DEV-0001/distribution-files')).body.files, [], 'none of them listed');

  // An upload whose name is taken by a folder cannot be renamed into place: 500, and no temp file stays.
  const r = await upload(w, [...fields(), filePart('dir.bin', Buffer.from('x'))]);
  t.equal(r.status, 500);
  t.same(r.body, internal);
  t.notOk(entries(prod).some((n) => n.endsWith('.tmp')), 'temp file removed');

  // Sidecars: a malformed one is recomputed; one that cannot be written is only a cache miss.
  writeFileSync(path.join(prod, 'a.bin'), 'aaa');
  writeFileSync(path.join(prod, '.a.bin.sha256'), '{}');
  writeFileSync(path.join(prod, 'b.bin'), 'bbb');
  mkdirSync(path.join(prod, '.b.bin.sha256', 'x'), { recursive: true });
  const listed = await w.admin.get('/api/flash/DEV-0001/distribution-files');
  t.same(listed.body.file_details, [
    { name: 'a.bin', size: 3, sha256: await sha256Of(Buffer.from('aaa')) },
    { name: 'b.bin', size: 3, sha256: await sha256Of(Buffer.from('bbb')) },
  ]);
  t.match(JSON.parse(readFileSync(path.join(prod, '.a.bin.sha256'), 'utf8')), { size: 3, sha256: listed.body.file_details[0].sha256 });

  // A distribution folder that is a file, or a symlink loop.
  writeFileSync(path.join(w.root, 'rpi4', 'plain'), 'not a folder');
  await create(w.cce, 'Distribution', { name: 'plain', device_type: 'rpi4' });
  t.ok(w.d.logs.some((l) => l.includes('flash: could not create the folder')), 'the catalog write stands, with a warning');
  await create(w.cce, 'Device', { device_key: 'DEV-PLAIN', token_code: 'plain-token-000001', device_type: 'rpi4', distribution: 'plain' });
  t.equal((await w.admin.get('/api/flash/DEV-PLAIN/distribution-files')).status, 404);
  t.equal((await get('/api/flash/rpi4/plain/x.bin')).status, 404);
  await syncFiles(w.d.app.services, new FlashStorage(w.root), 'rpi4', 'plain');
  const plain = (await w.d.app.services.store.findOne('Distribution', '', 'name', 'plain'))!;
  t.equal((await w.d.app.services.store.rawValues(await plain)).files, '', 'a folder that is not there syncs as no files');
  symlinkSync('loop', path.join(w.root, 'rpi4', 'loop'));
  await create(w.cce, 'Distribution', { name: 'loop', device_type: 'rpi4' });
  const loopDev = await create(w.cce, 'Device', { device_key: 'DEV-LOOP', token_code: 'loop-token-000001', device_type: 'rpi4', distribution: 'loop' });
  t.equal((await w.admin.get('/api/flash/DEV-LOOP/distribution-files')).status, 500);
  await t.rejects(filesForDevice(w.d.app.services, loopDev), { code: 'ELOOP' }, 'flash-request sees an I/O error, not an empty list');

  // The storage checks names itself too, whatever its callers checked.
  t.throws(() => new FlashStorage(w.root).folder('rpi4', '..'), { statusCode: 400, message: 'Invalid name: ".."' });
});

t.test('range and validator helpers', async (t) => {
  t.equal(parseRange(undefined, 10), undefined);
  t.equal(parseRange('items=0-1', 10), undefined, 'another unit: the whole file');
  t.equal(parseRange('bytes=0-1,3-4', 10), undefined, 'several ranges: the whole file');
  t.equal(parseRange('bytes=-', 10), undefined);
  t.equal(parseRange('bytes=5-2', 10), undefined, 'an invalid range is ignored');
  t.same(parseRange('bytes=2-100', 10), { start: 2, end: 9 });
  t.same(parseRange('bytes=-100', 10), { start: 0, end: 9 });
  t.equal(parseRange('bytes=-0', 10), 'unsatisfiable');
  t.equal(parseRange('bytes=-5', 0), 'unsatisfiable');
  t.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
  t.ok(noneMatch('*', '"a"'));
  t.notOk(noneMatch(undefined, '"a"'));
  t.notOk(noneMatch('"b"', '"a"'));
  t.ok(rangeStillValid(undefined, '"a"'));
  t.notOk(rangeStillValid('Wed, 21 Oct 2015 07:28:00 GMT', '"a"'));
});

t.test('renaming a device type through the catalog takes its firmware folder along', async (t) => {
  const w = await world(t);
  const content = Buffer.from('rename me');
  t.equal((await upload(w, [...fields(), filePart('fw.bin', content)])).status, 200);
  const id = (await w.cce.cmd({ cmd: 'FINDX', class: 'DeviceType', args: { name: 'rpi4' } })).body.data.oidlist[0];
  const put = await w.admin.put(`/api/device-types/${id}`, { name: 'rpi5' });
  t.equal(put.status, 200, put.text);
  t.notOk(existsSync(path.join(w.root, 'rpi4')), 'the old folder is gone');
  t.same(readFileSync(path.join(w.root, 'rpi5', 'prod', 'fw.bin')), content, 'the firmware moved with it');
  const listed = await w.admin.get('/api/flash/DEV-0001/distribution-files');
  t.same(listed.body.files, ['fw.bin'], 'the device follows the rename and still finds its files');
  t.ok(w.d.logs.some((l) => l.includes('"audit":"FLASH_RENAME"') && l.includes('"moved":true')));
  // Renaming onto a name whose folder exists moves nothing (no overwrite).
  mkdirSync(path.join(w.root, 'taken'));
  t.equal((await w.admin.put(`/api/device-types/${id}`, { name: 'taken' })).status, 200);
  t.ok(existsSync(path.join(w.root, 'rpi5', 'prod', 'fw.bin')), 'an existing folder is never overwritten');
  const storage = new FlashStorage(w.root);
  t.equal(storage.renameFolderSync('absent', 'elsewhere'), false, 'no old folder: nothing to move');
});

t.test('renaming a device type by /v2/cce SET, alone or in a COMMIT, does what the catalog path does; a rolled-back one does nothing', async (t) => {
  const w = await world(t);
  const content = Buffer.from('renamed by SET');
  t.equal((await upload(w, [...fields(), filePart('fw.bin', content)])).status, 200);
  const id = (await w.cce.cmd({ cmd: 'FINDX', class: 'DeviceType', args: { name: 'rpi4' } })).body.data.oidlist[0];
  const findx = async (cls: string, type: string) => (await w.cce.cmd({ cmd: 'FINDX', class: cls, args: { device_type: type } })).body.data?.oidlist?.length ?? 0;

  t.equal((await w.cce.cmd({ cmd: 'BEGIN' })).status, 200);
  await w.cce.cmd(`SET ${id} name = "rpi6"`);
  await w.cce.cmd('SET 999999 name = "nobody"');
  t.equal((await w.cce.cmd({ cmd: 'COMMIT' })).status, 409);
  t.ok(existsSync(path.join(w.root, 'rpi4', 'prod', 'fw.bin')), 'a rolled-back rename moves no folder');
  t.same([await findx('Distribution', 'rpi4'), await findx('Device', 'rpi4')], [2, 1], 'nor any reference');
  t.notOk(w.d.logs.some((l) => l.includes('"audit":"FLASH_RENAME"')));

  t.equal((await w.cce.cmd(`SET ${id} name = "rpi6"`)).status, 200);
  t.notOk(existsSync(path.join(w.root, 'rpi4')), 'the old folder is gone');
  t.same(readFileSync(path.join(w.root, 'rpi6', 'prod', 'fw.bin')), content, 'the firmware moved with it');
  t.same([await findx('Distribution', 'rpi6'), await findx('Device', 'rpi6'), await findx('Distribution', 'rpi4')], [2, 1, 0], 'distributions and devices follow');
  t.same((await w.admin.get('/api/flash/DEV-0001/distribution-files')).body.files, ['fw.bin']);

  t.equal((await w.cce.cmd({ cmd: 'BEGIN' })).status, 200);
  await w.cce.cmd(`SET ${id} name = "rpi7"`);
  t.equal((await w.cce.cmd({ cmd: 'COMMIT' })).status, 200);
  t.ok(existsSync(path.join(w.root, 'rpi7', 'prod', 'fw.bin')), 'inside a COMMIT too');
  t.same([await findx('Device', 'rpi7'), await findx('Device', 'rpi6')], [1, 0]);
  t.equal(w.d.logs.filter((l) => l.includes('"audit":"FLASH_RENAME"') && l.includes('"moved":true')).length, 2);
  t.equal((await w.cce.cmd(`SET ${id} platform = "arm64" name = "rpi7"`)).status, 200);
  t.equal(w.d.logs.filter((l) => l.includes('"audit":"FLASH_RENAME"')).length, 2, 'a SET that leaves the name as it is renames nothing');
});
