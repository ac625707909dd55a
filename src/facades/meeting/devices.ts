/**
 * Devices (the document's DeviceController): list, keys, registration,
 * details, services, note, distrib.json, and the type/distribution catalog
 * as a device sees it.
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import { decodeArray, encodeArray } from '../../schema/values.js';
import type { Router } from './route.js';
import { fail } from './replies.js';
import { keyParams, text } from './schemas.js';
import { presentDevice, write } from './model.js';
import { DEVICE } from '../../devices/classes.js';
import { deviceTypeNames, distributionNames, findDeviceType, requireDevice } from '../../devices/lookups.js';
import { newDeviceKey, newTokenCode } from '../../devices/secrets.js';
import { createDevice } from '../../devices/registration.js';

const listQuery = z.object({
  // The document's maximum is 100: larger asks are served 100.
  limit: z.coerce.number().int().min(1).default(25).transform((n) => Math.min(n, 100)).describe('Page size; larger asks are served 100'),
  offset: z.coerce.number().int().min(0).max(1e9).default(0),
  prefix: z.string().regex(/^[A-Za-z0-9_-]{0,64}$/, 'letters, digits, _ and - only').default('').transform((p) => p.toUpperCase()),
  // A cursor: the page starts right after this device_key, the last of the page before (an index seek at any depth).
  after: z.string().min(1).max(128).optional(),
});

const registerBody = z
  .object({
    device_type: text(128).optional(),
    distribution: text(128).optional(),
    device_name: z.string().max(200).optional(),
    product_serial: text(64).optional(),
  })
  .optional()
  .transform((b) => b ?? {});

const manualBody = z.object({
  devicekey: text(128),
  token_code: text(128),
  device_type: text(128),
  distribution: text(128).optional(),
  device_name: z.string().max(200).optional(),
  product_serial: text(64).optional(),
});

export function deviceRoutes(route: Router, s: Services): void {
  const { store } = s;

  route('GET', '/api/devices', { access: 'user', query: listQuery }, async ({ who, query }) => {
    const { after, ...rest } = query;
    const { total, oids } = await store.page(who.subject, DEVICE, 'device_key', { ...rest, ...(after === undefined ? {} : { after: { value: after } }) });
    const objects = await store.getMany(who.subject, oids);
    const devices = oids.map((oid) => presentDevice(objects.get(oid)!.namespaces.get('')!, store));
    return { devices, total, limit: query.limit, offset: query.offset };
  });

  route('GET', '/api/devices/generate-key', { access: 'admin' }, async () => ({ devicekey: await newDeviceKey(store), token_code: newTokenCode() }));

  route('POST', '/api/devices/generate-and-register', { access: 'admin', body: registerBody }, async ({ who, body }) => {
    const fresh = { ...body, devicekey: await newDeviceKey(store), token_code: newTokenCode() };
    const created = await write(s, async (tx) => createDevice(tx, who.subject, fresh));
    const { device_type: _t, distribution: _d, product_serial: _p, ...reply } = created;
    return reply;
  });

  route('POST', '/api/devices/manual-create', { access: 'admin', body: manualBody }, ({ who, body }) => write(s, (tx) => createDevice(tx, who.subject, body)));

  route('GET', '/api/devices/device-types', { access: 'user' }, async ({ who }) => ({ device_types: await deviceTypeNames(store, who.subject) }));

  route('GET', '/api/devices/device-types/:type/distributions', { access: 'user', params: z.object({ type: text(128) }) }, async ({ who, params }) => {
    if (await findDeviceType(store, params.type) === undefined) throw fail(404, 'Device type not found');
    return { distributions: await distributionNames(store, who.subject, params.type) };
  });

  route('GET', '/api/devices/:key', { access: 'user', params: keyParams }, async ({ who, params }) =>
    presentDevice((await store.get(who.subject, await requireDevice(store, params.key))).values, store),
  );

  route('PUT', '/api/devices/:key', { access: 'admin', params: keyParams, body: z.object({ services: z.array(z.string().max(16)).max(16).optional() }) }, async ({ who, params, body }) => {
    const oid = await requireDevice(store, params.key);
    if (body.services === undefined) throw fail(400, 'Nothing to update');
    await write(s, (tx) => tx.set(who.subject, oid, '', { services: encodeArray(body.services!) }));
    return { success: true };
  });

  route('DELETE', '/api/devices/:key', { access: 'admin', params: keyParams }, async ({ who, params }) => {
    const oid = await requireDevice(store, params.key);
    // Its SSH keys, tunnels and events go with it (src/devices/cascade.ts).
    await write(s, (tx) => tx.destroy(who.subject, oid));
    return { success: true };
  });

  route('GET', '/api/devices/:key/note', { access: 'user', params: keyParams }, async ({ who, params }) => ({
    note: (await store.get(who.subject, await requireDevice(store, params.key))).values.note,
  }));

  route('PUT', '/api/devices/:key/note', { access: 'admin', params: keyParams, body: z.object({ note: z.string() }) }, async ({ who, params, body }) => {
    const oid = await requireDevice(store, params.key);
    await write(s, (tx) => tx.set(who.subject, oid, '', { note: body.note }));
    return { success: true, note: body.note };
  });

  route('GET', '/api/devices/:key/service', { access: 'user', params: keyParams }, async ({ who, params }) => ({
    services: decodeArray((await store.get(who.subject, await requireDevice(store, params.key))).values.services),
  }));

  route('GET', '/api/devices/:key/distrib-json', { access: 'user', params: keyParams }, async ({ who, params, reply }) => {
    const json = (await store.get(who.subject, await requireDevice(store, params.key))).values.distrib_json;
    if (json === '') throw fail(404, 'distrib.json not found');
    try {
      JSON.parse(json);
    } catch {
      // Only SET on /v2/cce can store text that is not JSON (the facade stores what it parsed).
      throw fail(500, 'distrib.json is not valid JSON');
    }
    // The stored text as it is: returned as a value, a JSON string would go out as text/plain and null as nothing.
    return reply.type('application/json; charset=utf-8').send(json);
  });

  route('PUT', '/api/devices/:key/distrib-json', { access: 'admin', params: keyParams, body: z.json() }, async ({ who, params, body }) => {
    const oid = await requireDevice(store, params.key);
    await write(s, (tx) => tx.set(who.subject, oid, '', { distrib_json: JSON.stringify(body) }));
    return { success: true };
  });
}
