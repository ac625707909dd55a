/** The declarations of the Meeting paths of people and devices: auth, users, metrics, devices, their status, the catalog. */
import { REFUSED as R, DEVICE_VALUE_REFUSALS, WRITE_REFUSALS } from '../refusals.js';
import { z } from 'zod';
import { said, type RouteDoc } from '../../../api-reference/declaration.js';
import * as S from '../reply-shapes.js';
import { BAD_CLIENT_SECRET_BODY } from '../../../http/refusal.js';
import { declare, type Declarations } from './entry.js';

const TYPE_WRITE = [...WRITE_REFUSALS, R.invalid, R.typeExists, R.inUse];

export const DEVICE_DECLARATIONS: Declarations = {
  'POST /api/auth/login': declare('A bearer token for a user name and password', S.login, [
    said(401, 'Invalid credentials'),
    said(403, 'Password login is only allowed from a local address'),
    // From a whitelisted address (rest_login_remote), a missing or wrong X-Client-Secret: the reference's text/plain answer.
    { status: 401, body: BAD_CLIENT_SECRET_BODY },
    R.storageFailure,
  ]),
  'POST /api/auth/logout': declare('Revoke the bearer token of this request', S.ok, [R.storageFailure]),
  'GET /api/auth/me': declare("The caller's own user record", S.user),

  'GET /api/users': declare('Every user, by id', S.users),
  'GET /api/users/:id': declare('One user', S.user, [R.userNotFound]),
  'POST /api/users': declare('Create a user', S.created, [...WRITE_REFUSALS, R.usernameTaken, R.invalid, R.inUse]),
  'PUT /api/users/:id': declare('Change a user', S.ok, [...WRITE_REFUSALS, R.userNotFound, R.nothingToUpdate, R.usernameTaken, R.invalid, R.inUse]),

  'GET /api/metrics': declare('Host and daemon figures (get), the log tail (logs) or Prometheus text (prometheus)', { 200: [S.metrics, S.TEXT] }, [
    said(500, 'Log not available'),
  ]),

  'GET /api/devices': declare('List devices, by device_key', S.deviceList),
  'GET /api/devices/generate-key': declare('A fresh device key and token, not registered', S.generatedKey),
  'POST /api/devices/generate-and-register': declare('Register a device under a fresh key', S.registered, DEVICE_VALUE_REFUSALS),
  'POST /api/devices/manual-create': declare('Register a device under a given key', S.manuallyCreated, DEVICE_VALUE_REFUSALS),
  'GET /api/devices/device-types': declare('The device type names', S.deviceTypeNames),
  'GET /api/devices/device-types/:type/distributions': declare('The distributions of a device type', S.distributionNames, [R.typeNotFound]),
  'GET /api/devices/:key': declare('One device', S.device, [R.deviceNotFound]),
  'PUT /api/devices/:key': declare("Set a device's services", S.ok, [R.deviceNotFound, R.nothingToUpdate, ...DEVICE_VALUE_REFUSALS]),
  'DELETE /api/devices/:key': declare('Delete a device (its SSH keys, tunnels and events with it)', S.ok, [R.deviceNotFound, ...WRITE_REFUSALS]),
  'GET /api/devices/:key/note': declare("A device's note", S.noteOf, [R.deviceNotFound]),
  'PUT /api/devices/:key/note': declare("Set a device's note", S.noteSet, [R.deviceNotFound, ...DEVICE_VALUE_REFUSALS]),
  'GET /api/devices/:key/service': declare("A device's services", S.servicesOf, [R.deviceNotFound]),
  'GET /api/devices/:key/distrib-json': declare("A device's distrib.json, as stored", S.anyJson, [
    R.deviceNotFound,
    said(404, 'distrib.json not found'),
    said(500, 'distrib.json is not valid JSON'),
  ]),
  'PUT /api/devices/:key/distrib-json': declare("Set a device's distrib.json", S.ok, [R.deviceNotFound, ...DEVICE_VALUE_REFUSALS]),
  'POST /api/devices/:key/flash-request': declare('Spend a flash token; what to fetch', S.flashGranted, [
    R.deviceNotFound,
    R.deviceNotAuthorized,
    R.noTokens,
    ...WRITE_REFUSALS,
  ]),

  'POST /api/devices/:key/online': declare('A heartbeat', S.online, [R.deviceNotFound, ...DEVICE_VALUE_REFUSALS]),
  'GET /api/devices/:key/last-seen': declare("A device's last heartbeat", S.lastSeen, [R.deviceNotFound]),
  'GET /api/devices/:key/availability': declare("A device's availability (Unknown for an unknown key)", S.availability),
  'GET /api/devices/:key/logs': declare("A device's connection log, newest first", S.connectionLog, [R.deviceNotFound]),
  'POST /api/devices/:key/purge-logs': declare("Empty a device's connection log", S.ok, [R.deviceNotFound, ...WRITE_REFUSALS]),

  'GET /api/device-types': declare('The device types', S.deviceTypes),
  'POST /api/device-types': declare('Create a device type', S.created, TYPE_WRITE),
  'PUT /api/device-types/:id': declare('Change a device type', S.ok, [R.typeNotFound, R.nothingToUpdate, ...TYPE_WRITE]),
  'DELETE /api/device-types/:id': declare('Delete a device type', S.ok, [R.typeNotFound, ...WRITE_REFUSALS]),
  'POST /api/device-types/:id/fork': declare('Fork a device type', S.created, [R.typeNotFound, ...TYPE_WRITE]),
  'POST /api/device-types/:id/merge': declare('Merge a fork back into its original', S.ok, [R.typeNotFound, R.notAFork, R.originalGone, ...TYPE_WRITE]),
  'POST /api/flash/create-type': declare('Create a device type (Flash)', S.typeCreated, TYPE_WRITE),
  'POST /api/flash/create-distribution': declare('Create a distribution of a device type', S.distributionCreated, [
    R.typeNotFound,
    R.distributionExists,
    ...WRITE_REFUSALS,
    R.invalid,
  ]),
  'GET /api/flash/device-types': declare('The device type names (Flash)', S.deviceTypeNames),
  'GET /api/flash/:type/distributions': declare('The distributions of a device type (Flash)', S.distributionNames, [R.typeNotFound]),
};

/** The echo of each one-property setting (PUT /api/devices/{key}/<path>): what it answers beside success. */
const ECHOES: Readonly<Record<string, z.ZodType>> = { authorized: z.union([z.literal(0), z.literal(1)]), token_count: z.number().int() };

/** The declaration of one setting's path (device-settings.ts declares them in its loop). */
export function settingDeclaration(field: string): RouteDoc {
  return declare(`Set a device's ${field}`, z.strictObject({ success: z.literal(true), [field]: ECHOES[field] ?? z.string() }), [R.deviceNotFound, ...DEVICE_VALUE_REFUSALS]);
}
