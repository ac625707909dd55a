/**
 * The catalog paths: /api/device-types (the document's DeviceTypeController)
 * and the catalog side of Flash (/api/flash/create-type, create-distribution,
 * device-types, {type}/distributions). Both read and write the same
 * DeviceType and Distribution objects through the device catalog
 * (src/devices/catalog.ts).
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import { toJsonValue } from '../../schema/values.js';
import { DEVICE_TYPE } from '../../devices/classes.js';
import { deviceTypeNames, distributionNames, findDeviceType, liveTypes } from '../../devices/lookups.js';
import { Catalog } from '../../devices/catalog.js';
import type { Router } from './route.js';
import { fail } from './replies.js';
import { text } from './schemas.js';

const idParams = z.object({ id: z.string().regex(/^[1-9][0-9]{0,15}$/, 'a positive integer').transform(Number) });

/** The optional properties of a type; their formats are the store's to check (400 naming the property). */
const typeFields = {
  serial_prefix: z.string().max(64).optional(),
  platform: z.string().max(64).optional(),
  services: z.array(z.string().max(16)).max(16).optional(),
  distribution: z.string().max(128).optional(),
  status: z.string().max(32).optional(),
  icon_path: z.string().max(1024).optional(),
};
const createBody = z.object({ name: text(128), ...typeFields });
const updateBody = z.object({ name: text(128).optional(), ...typeFields });
const forkBody = z.object({ name: text(128), serial_prefix: z.string().max(64).optional() });

/**
 * Flash names become folder names of the firmware storage: letters, digits,
 * `_` and `-`, starting with a letter or digit (no dots, slashes or spaces).
 */
const safeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, _ and - only (at most 64)');

/** A device type as /api/device-types shows it: its id and typed properties, without the soft-delete flag. */
function presentType(s: Services, oid: number, values: Record<string, string>): Record<string, unknown> {
  const props = s.store.classDef(DEVICE_TYPE).namespaces.get('')!.properties;
  const out: Record<string, unknown> = { id: oid };
  for (const [name, value] of Object.entries(values)) {
    if (name === 'deleted') continue;
    out[name] = name === 'forked_from' && value === '' ? null : toJsonValue(props.get(name), value);
  }
  return out;
}

/** The defined keys of a parsed body. */
function defined(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

export function deviceTypeRoutes(route: Router, s: Services): void {
  const catalog = new Catalog(s);

  route('GET', '/api/device-types', { access: 'user' }, async ({ who }) => {
    const oids = await liveTypes(s.store, who.subject);
    const objects = await s.store.getMany(who.subject, oids);
    return { device_types: oids.map((oid) => presentType(s, oid, objects.get(oid)!.namespaces.get('')!)) };
  });

  route('POST', '/api/device-types', { access: 'admin', body: createBody }, async ({ who, body }) => ({
    success: true,
    id: await catalog.createType(who.subject, defined(body)),
  }));

  route('PUT', '/api/device-types/:id', { access: 'admin', params: idParams, body: updateBody }, async ({ who, params, body }) => {
    const values = defined(body);
    if (Object.keys(values).length === 0) throw fail(400, 'Nothing to update');
    await catalog.updateType(who.subject, params.id, values);
    return { success: true };
  });

  route('DELETE', '/api/device-types/:id', { access: 'admin', params: idParams }, async ({ who, params }) => {
    await catalog.deleteType(who.subject, params.id);
    return { success: true };
  });

  route('POST', '/api/device-types/:id/fork', { access: 'admin', params: idParams, body: forkBody }, async ({ who, params, body }) => ({
    success: true,
    id: await catalog.forkType(who.subject, params.id, body.name, body.serial_prefix),
  }));

  route('POST', '/api/device-types/:id/merge', { access: 'admin', params: idParams }, async ({ who, params }) => {
    await catalog.mergeType(who.subject, params.id);
    return { success: true };
  });

  route('POST', '/api/flash/create-type', { access: 'admin', body: z.object({ devicetype: safeName }) }, async ({ who, body }) => {
    await catalog.createType(who.subject, { name: body.devicetype });
    return { success: true, devicetype: body.devicetype };
  });

  route(
    'POST',
    '/api/flash/create-distribution',
    { access: 'admin', body: z.object({ devicetype: text(128), distribution: safeName }) },
    async ({ who, body }) => {
      await catalog.createDistribution(who.subject, body.devicetype, body.distribution);
      return { success: true, devicetype: body.devicetype, distribution: body.distribution };
    },
  );

  route('GET', '/api/flash/device-types', { access: 'user' }, async ({ who }) => ({ device_types: await deviceTypeNames(s.store, who.subject) }));

  route('GET', '/api/flash/:type/distributions', { access: 'user', params: z.object({ type: text(128) }) }, async ({ who, params }) => {
    if (await findDeviceType(s.store, params.type) === undefined) throw fail(404, 'Device type not found');
    return { distributions: await distributionNames(s.store, who.subject, params.type) };
  });
}
