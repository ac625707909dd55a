/** Every device path of the Meeting facade: success shapes and each documented error, over HTTP. */
import t from 'tap';
import { adminClient } from './helpers/daemon.js';
import { catalogWorld, newDevice } from './helpers/meeting.js';

const SECRET = /^[A-Za-z0-9_-]{16}$/;

t.test('keys, registration and the list', async (t) => {
  const { d, a } = await catalogWorld(t);

  const gen = await a.get('/api/devices/generate-key');
  t.equal(gen.status, 200);
  t.strictSame(Object.keys(gen.body), ['devicekey', 'token_code']);
  t.match(gen.body.devicekey, /^[0-9A-F]{24}$/);
  t.match(gen.body.token_code, /^[0-9a-f]{32}$/);

  const reg = await a.post('/api/devices/generate-and-register');
  t.equal(reg.status, 200);
  t.strictSame(Object.keys(reg.body), ['devicekey', 'token_code', 'ap_ssid', 'ap_password', 'http_pw_low', 'http_pw_medium', 'http_pw_high']);
  t.equal(reg.body.ap_ssid, `MEETING-${reg.body.devicekey.slice(-6)}`);
  for (const k of ['ap_password', 'http_pw_low', 'http_pw_medium', 'http_pw_high']) t.match(reg.body[k], SECRET);
  const typed = await a.post('/api/devices/generate-and-register', { device_type: 'rpi4', distribution: 'prod', device_name: 'kiosk' });
  t.equal(typed.status, 200);
  const typedDev = await a.get(`/api/devices/${typed.body.devicekey}`);
  t.match(typedDev.body, { device_name: 'kiosk', device_type: 'rpi4', distribution: 'prod', product_serial: /^RPI4-[0-9A-F]{8}$/ });
  t.strictSame((await a.post('/api/devices/generate-and-register', { device_type: 'nope' })).body, { error: 'Unknown device type' });

  const body = { devicekey: 'ABCD0001', token_code: 'tok-0001-abcdefgh', device_type: 'rpi4', distribution: 'nightly', product_serial: 'V1-S01-00123' };
  const made = await a.post('/api/devices/manual-create', body);
  t.equal(made.status, 200);
  t.strictSame(Object.keys(made.body), ['devicekey', 'token_code', 'ap_ssid', 'ap_password', 'http_pw_low', 'http_pw_medium', 'http_pw_high', 'device_type', 'distribution', 'product_serial']);
  t.match(made.body, { devicekey: 'ABCD0001', token_code: 'tok-0001-abcdefgh', ap_ssid: 'MEETING-CD0001', device_type: 'rpi4', distribution: 'nightly', product_serial: 'V1-S01-00123' });
  // Without a serial, one is drawn from the type's prefix (or SN- when it has none); without a distribution it stays empty.
  const esp = await a.post('/api/devices/manual-create', { devicekey: 'ESP00001', token_code: 'tok-0002-abcdefgh', device_type: 'esp32' });
  t.match(esp.body, { product_serial: /^SN-[0-9A-F]{8}$/, distribution: '' });

  const dupKey = await a.post('/api/devices/manual-create', { ...body, product_serial: 'OTHER-1' });
  t.equal(dupKey.status, 409);
  t.strictSame(dupKey.body, { error: 'device_key already in use' });
  const dupSerial = await a.post('/api/devices/manual-create', { ...body, devicekey: 'ABCD0002' });
  t.equal(dupSerial.status, 409);
  t.strictSame(dupSerial.body, { error: 'product_serial already in use' });
  const cases: [Record<string, unknown>, string][] = [
    [{ ...body, devicekey: undefined }, 'devicekey: Invalid input: expected string, received undefined'],
    [{ ...body, token_code: '' }, 'token_code: Too small: expected string to have >=1 characters'],
    [{ ...body, devicekey: 'abcd0003' }, 'invalid device_key'],
    [{ ...body, devicekey: 'ABCD0003', product_serial: 'FRESH-1', token_code: 'short' }, 'invalid token_code'],
    [{ ...body, devicekey: 'ABCD0003', device_type: 'nope' }, 'Unknown device type'],
    [{ ...body, devicekey: 'ABCD0003', device_type: 'gone' }, 'Unknown device type'],
    [{ ...body, devicekey: 'ABCD0003', distribution: 'beta' }, 'Unknown distribution for this device type'],
    [{ ...body, devicekey: 'ABCD0003', device_type: undefined }, 'device_type: Invalid input: expected string, received undefined'],
  ];
  for (const [b, error] of cases) {
    const r = await a.post('/api/devices/manual-create', b);
    t.equal(r.status, 400, error);
    t.strictSame(r.body, { error });
  }

  // The list: sorted by key, paged, filtered by prefix (upper-cased), limit capped at 100.
  const all = await a.get('/api/devices');
  t.equal(all.body.total, 4);
  t.strictSame(all.body.devices.map((x: any) => x.device_key), [...all.body.devices.map((x: any) => x.device_key)].sort());
  const page = await a.get('/api/devices?limit=2&offset=1');
  t.strictSame({ ...page.body, devices: page.body.devices.length }, { devices: 2, total: 4, limit: 2, offset: 1 });
  t.equal(page.body.devices[0].device_key, all.body.devices[1].device_key);
  const pref = await a.get('/api/devices?prefix=abcd');
  t.strictSame({ total: pref.body.total, keys: pref.body.devices.map((x: any) => x.device_key) }, { total: 1, keys: ['ABCD0001'] });
  t.equal((await a.get('/api/devices?limit=1000')).body.limit, 100);
  for (const q of ['limit=0', 'limit=x', 'offset=-1', 'prefix=a%25', 'after=', `after=${'A'.repeat(129)}`]) t.equal((await a.get(`/api/devices?${q}`)).status, 400, q);

  // A cursor: after=<the last device_key of a page> answers the next page, whatever its depth.
  const keys = all.body.devices.map((x: any) => x.device_key);
  const walked: string[] = [];
  for (let after: string | undefined; ; ) {
    const next = await a.get(`/api/devices?limit=3${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`);
    t.equal(next.body.total, 4);
    walked.push(...next.body.devices.map((x: any) => x.device_key));
    if (next.body.devices.length < 3) break;
    after = walked.at(-1);
  }
  t.strictSame(walked, keys, 'every device once, in order');
  const afterFirst = await a.get(`/api/devices?limit=100&after=${keys[0]}`);
  t.strictSame(afterFirst.body.devices.map((x: any) => x.device_key), keys.slice(1));
  t.strictSame((await a.get(`/api/devices?after=${keys[0]}&prefix=${keys[0]!.slice(0, 4)}`)).body.devices.map((x: any) => x.device_key), keys.slice(1).filter((k: string) => k.startsWith(keys[0]!.slice(0, 4))), 'with a prefix');
});

t.test('one device: details, services, note, delete', async (t) => {
  const { d, a } = await catalogWorld(t);
  const { key, token, created } = await newDevice(a, { distribution: 'prod' });

  const got = await a.get(`/api/devices/${key}`);
  t.equal(got.status, 200);
  t.strictSame(got.body, {
    device_key: key, device_name: '', product_serial: created.product_serial, authorized: false, device_type: 'rpi4',
    distribution: 'prod', token_code: token, token_count: 0, note: '', ip_address: '', parent_device_key: '', bundles: [],
    ghost_candidate_url: '', ap_ssid: created.ap_ssid, ap_password: created.ap_password, http_pw_low: created.http_pw_low,
    http_pw_medium: created.http_pw_medium, http_pw_high: created.http_pw_high, services: [],
  });
  t.strictSame((await a.get('/api/devices/NOSUCHKEY')).body, { error: 'Device not found' });
  t.equal((await a.get('/api/devices/NOSUCHKEY')).status, 404);

  t.strictSame((await a.put(`/api/devices/${key}`, { services: ['ssh', 'http'] })).body, { success: true });
  t.strictSame((await a.get(`/api/devices/${key}/service`)).body, { services: ['ssh', 'http'] });
  const nothing = await a.put(`/api/devices/${key}`, {});
  t.equal(nothing.status, 400);
  t.strictSame(nothing.body, { error: 'Nothing to update' });
  t.strictSame((await a.put(`/api/devices/${key}`, { services: ['telnet'] })).body, { error: 'invalid services' });
  t.equal((await a.put('/api/devices/NOSUCHKEY', { services: [] })).status, 404);
  t.equal((await a.get('/api/devices/NOSUCHKEY/service')).status, 404);

  t.strictSame((await a.get(`/api/devices/${key}/note`)).body, { note: '' });
  t.strictSame((await a.put(`/api/devices/${key}/note`, { note: 'rack 3' })).body, { success: true, note: 'rack 3' });
  t.strictSame((await a.get(`/api/devices/${key}/note`)).body, { note: 'rack 3' });
  const long = await a.put(`/api/devices/${key}/note`, { note: 'x'.repeat(2001) });
  t.equal(long.status, 400);
  t.strictSame(long.body, { error: 'invalid note' });
  t.equal((await a.put(`/api/devices/${key}/note`, { note: 'é'.repeat(2000) })).status, 200, '2000 characters fit');
  t.equal((await a.get('/api/devices/NOSUCHKEY/note')).status, 404);

  t.strictSame((await a.del(`/api/devices/${key}`)).body, { success: true });
  const again = await a.del(`/api/devices/${key}`);
  t.equal(again.status, 404);
  t.strictSame(again.body, { error: 'Device not found' });
});

t.test('the catalog and distrib.json', async (t) => {
  const { d, a } = await catalogWorld(t);
  t.strictSame((await a.get('/api/devices/device-types')).body, { device_types: ['esp32', 'rpi4'] });
  t.strictSame((await a.get('/api/devices/device-types/rpi4/distributions')).body, { distributions: ['nightly', 'prod'] });
  t.strictSame((await a.get('/api/devices/device-types/esp32/distributions')).body, { distributions: [] });
  const unknown = await a.get('/api/devices/device-types/gone/distributions');
  t.equal(unknown.status, 404);
  t.strictSame(unknown.body, { error: 'Device type not found' });

  const { key } = await newDevice(a);
  const none = await a.get(`/api/devices/${key}/distrib-json`);
  t.equal(none.status, 404);
  t.strictSame(none.body, { error: 'distrib.json not found' });
  const doc = { version: '1.2', packages: ['a', 'b'], nested: { on: true } };
  t.strictSame((await a.put(`/api/devices/${key}/distrib-json`, doc)).body, { success: true });
  t.strictSame((await a.get(`/api/devices/${key}/distrib-json`)).body, doc);
  const bad = await a.put(`/api/devices/${key}/distrib-json`, '{"version":', { 'content-type': 'application/json' });
  t.equal(bad.status, 400);
  t.match(bad.body.error, /JSON/);
  t.equal((await a.put(`/api/devices/${key}/distrib-json`, { big: 'x'.repeat(70000) })).status, 400);
  t.equal((await a.get('/api/devices/NOSUCHKEY/distrib-json')).status, 404);
  t.equal((await a.put('/api/devices/NOSUCHKEY/distrib-json', {})).status, 404);
});

t.test('flash-side settings and relations', async (t) => {
  const { d, a } = await catalogWorld(t);
  const { key } = await newDevice(a, { distribution: 'prod' });
  const parent = await newDevice(a);
  const other = await newDevice(a, { product_serial: 'TAKEN-1' });
  const put = (path: string, body: unknown) => a.put(`/api/devices/${key}/${path}`, body);
  // A device's distribution is one of its own type's: esp32 gets a "nightly" too, so the type can change under it;
  // esp8266 has none, so it cannot.
  const cce = await adminClient(d);
  for (const cmd of ['CREATE Distribution name="nightly" device_type="esp32"', 'CREATE DeviceType name="esp8266"']) t.equal((await cce.cmd(cmd)).body.status, 201);

  const ok: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['authorize', { authorized: 1 }, { success: true, authorized: 1 }],
    ['authorize', { authorized: false }, { success: true, authorized: 0 }],
    ['tokens', { token_count: 3 }, { success: true, token_count: 3 }],
    ['distribution', { distribution: 'nightly' }, { success: true, distribution: 'nightly' }],
    ['token-code', { token_code: 'abc456-abcdefghij' }, { success: true, token_code: 'abc456-abcdefghij' }],
    ['parent', { parent_device_key: parent.key }, { success: true, parent_device_key: parent.key }],
    ['ghost', { ghost_candidate_url: 'https://ghost.example/1' }, { success: true, ghost_candidate_url: 'https://ghost.example/1' }],
    ['bundles', { bundles: ['dev1', 'dev2'] }, { success: true, bundles: '["dev1","dev2"]' }],
    ['product-serial', { product_serial: 'V1-S01-00123' }, { success: true, product_serial: 'V1-S01-00123' }],
    ['device-type', { device_type: 'esp32' }, { success: true, device_type: 'esp32' }],
  ];
  for (const [path, body, reply] of ok) {
    const r = await put(path, body);
    t.equal(r.status, 200, path);
    t.strictSame(r.body, reply, path);
  }
  t.match((await a.get(`/api/devices/${key}`)).body, {
    authorized: false, token_count: 3, distribution: 'nightly', token_code: 'abc456-abcdefghij', parent_device_key: parent.key,
    ghost_candidate_url: 'https://ghost.example/1', bundles: ['dev1', 'dev2'], product_serial: 'V1-S01-00123', device_type: 'esp32',
  });
  t.strictSame((await put('parent', { parent_device_key: '' })).body, { success: true, parent_device_key: '' }, 'a parent can be cleared');

  const bad: [string, unknown, number, string][] = [
    ['authorize', { authorized: 2 }, 400, 'authorized: Invalid input'],
    ['tokens', { token_count: 1.5 }, 400, 'token_count: token_count must be an integer'],
    ['tokens', { token_count: '3' }, 400, 'token_count: Invalid input: expected number, received string'],
    ['tokens', { token_count: -1 }, 400, 'token_count: Too small: expected number to be >=0'],
    ['distribution', {}, 400, 'distribution: Invalid input: expected string, received undefined'],
    ['distribution', { distribution: 'prod' }, 400, 'Unknown distribution for this device type'],
    ['token-code', { token_code: 'bad token' }, 400, 'invalid token_code'],
    ['parent', { parent_device_key: 'NOSUCHKEY' }, 400, 'Parent device not found'],
    ['parent', { parent_device_key: key }, 400, 'A device cannot be its own parent'],
    ['bundles', { bundles: 'dev1' }, 400, 'bundles: Invalid input: expected array, received string'],
    ['product-serial', { product_serial: 'TAKEN-1' }, 409, 'product_serial already in use'],
    ['device-type', { device_type: 'nope' }, 400, 'Unknown device type'],
    ['device-type', { device_type: 'esp8266' }, 400, 'Unknown distribution for this device type'],
  ];
  for (const [path, body, status, error] of bad) {
    const r = await put(path, body);
    t.equal(r.status, status, `${path} ${JSON.stringify(body)}`);
    t.strictSame(r.body, { error }, path);
  }
  t.equal((await a.put('/api/devices/NOSUCHKEY/tokens', { token_count: 1 })).status, 404);
  t.ok(other.key);
});

t.test('writes are refused while the daemon is suspended', async (t) => {
  const { d, a } = await catalogWorld(t);
  const { key } = await newDevice(a);
  const c = await adminClient(d);
  await c.cmd({ cmd: 'SUSPEND', reason: 'maintenance' });
  const r = await a.put(`/api/devices/${key}/tokens`, { token_count: 1 });
  t.equal(r.status, 503);
  t.strictSame(r.body, { error: 'Writes are suspended' });
  t.equal((await a.get(`/api/devices/${key}`)).status, 200, 'reads still work');
});
