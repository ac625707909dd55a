/**
 * The Meeting document's success bodies (seeds/000), each once, as zod
 * schemas: the API reference shows them and the reply check holds every
 * reply to them. Objects are strict: a field the daemon sends that is not
 * here is a mismatch the check reports.
 */
import { z } from 'zod';

const obj = z.strictObject;
const str = z.string();
const int = z.number().int();
/** The document's timestamps: `2025-06-01 14:22:10` (UTC). */
const time = z.string().regex(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
const names = z.array(str);

export const ok = obj({ success: z.literal(true) });
export const okTrue = obj({ ok: z.literal(true) });
export const created = obj({ success: z.literal(true), id: int });

/** One device as GET /api/devices/{key} shows it: the readable fields of the document, typed. */
export const device = obj({
  device_key: str,
  device_name: str,
  product_serial: str,
  authorized: z.boolean(),
  device_type: str,
  distribution: str,
  token_code: str,
  token_count: int,
  note: str,
  ip_address: str,
  parent_device_key: str,
  bundles: names,
  ghost_candidate_url: str,
  ap_ssid: str,
  ap_password: str,
  http_pw_low: str,
  http_pw_medium: str,
  http_pw_high: str,
  services: names,
}).partial();

export const deviceList = obj({ devices: z.array(device), total: int, limit: int.max(100), offset: int });

export const generatedKey = obj({ devicekey: str, token_code: str });

const deviceSecrets = { ap_ssid: str, ap_password: str, http_pw_low: str, http_pw_medium: str, http_pw_high: str };
export const registered = obj({ ...generatedKey.shape, ...deviceSecrets });
export const manuallyCreated = obj({ ...registered.shape, device_type: str, distribution: str, product_serial: str });

export const deviceTypeNames = obj({ device_types: names });
export const distributionNames = obj({ distributions: names });
export const servicesOf = obj({ services: names });
export const noteOf = obj({ note: str });
export const noteSet = obj({ success: z.literal(true), note: str });

const fileInfo = obj({ name: str, size: int, sha256: str });
export const deviceFiles = obj({ devicetype: str, distribution: str, files: names, file_details: z.array(fileInfo) });
export const flashGranted = obj({ success: z.literal(true), tokens_left: int, ...deviceFiles.shape });

export const online = obj({ ok: z.literal(true), ip_address: str, last_seen: time });
export const lastSeen = obj({ device_key: str, last_seen: time.nullable() });
export const availability = z.union([
  obj({ status: z.literal('Unknown'), last_heartbeat: z.null(), since: z.null(), uptime: z.null() }),
  obj({ status: z.enum(['Available', 'Disconnected']), last_heartbeat: time, since: time, uptime: z.number() }),
]);
export const connectionLog = z.array(obj({ timestamp: time, event: str, host: str, remote: str }));

/** A device type as /api/device-types shows it: its id and typed properties. */
export const deviceType = obj({
  id: int,
  name: str,
  serial_prefix: str,
  platform: str,
  services: names,
  distribution: str,
  status: str,
  icon_path: str,
  forked_from: int.nullable(),
}).partial({ serial_prefix: true, platform: true, services: true, distribution: true, status: true, icon_path: true, forked_from: true });
export const deviceTypes = obj({ device_types: z.array(deviceType) });
export const typeCreated = obj({ success: z.literal(true), devicetype: str });
export const distributionCreated = obj({ success: z.literal(true), devicetype: str, distribution: str });

export const user = obj({ id: int, username: str, role: z.enum(['admin', 'user']), ssh_pubkey: str, authorized: int });
export const users = obj({ users: z.array(obj({ id: int, username: str })) });
export const login = obj({ success: z.literal(true), token: str, expires_at: z.iso.datetime() });

const figures = z.record(str, z.unknown());
export const metrics = z.union([obj({ success: z.literal(true), metrics: figures }), obj({ success: z.literal(true), log: names })]);

export const uploaded = obj({ success: z.literal(true), file: str, sha256: str, size: int });
export const videoUploaded = obj({ ok: z.literal(true), hash: str, device_key: str, dir: str, file: str, size: int, sha256: str });
const playlistItem = obj({ dir: str, file: str, title: str, mode: str.nullable(), order: z.number(), size: int, sha256: str, hash: str, url: str });
export const playlist = obj({ device_key: str, updated_at: str, items: z.array(playlistItem) });

const tunnelState = z.enum(['pending', 'open', 'error']);
export const tunnels = obj({
  tunnels: z.array(obj({ device_key: str, service: str, port: int, local_port: int, expires_at: time, url: str, status: tunnelState })),
});
export const tunnelOpened = obj({ port: int, url: str, node_url: str.optional() });
export const tunnelPort = obj({ status: z.literal('ok'), port: int });
export const tunnelPending = z.union([
  obj({ pending: z.literal(false) }),
  obj({ pending: z.literal(true), request: obj({ tunnel_id: str, service: str, port: int, local_port: int, url: str, expires_at: time }) }),
]);
export const tunnelReported = obj({
  ok: z.literal(true),
  status: obj({ service: str, port: int, url: str, upnp: str, error: str, status: z.enum(['open', 'error']), reported_at: time }),
});
export const tunnelAuthorization = z.union([
  obj({ ok: z.literal(false), error: str }),
  obj({ ok: z.literal(true), device_key: str, authorized: z.literal(1), token_count: int }),
]);

export const sshKeys = obj({ keys: names });
export const sshKeyDevices = obj({ devices: z.array(obj({ device_key: str, ssh_public_key: str, authorized: z.union([z.literal(0), z.literal(1)]), revoked: z.union([z.literal(0), z.literal(1)]) })) });
export const statusOk = obj({ status: z.literal('ok') });
export const keyValid = obj({ status: z.literal('ok'), device_key: str });
export const keysRemoved = z.union([obj({ status: z.literal('ok'), deleted: int }), obj({ status: z.literal('not_found'), deleted: z.literal(0) })]);

/** Non-JSON bodies. */
export const TEXT = { media: 'text/plain' } as const;
export const FILE = { media: 'application/octet-stream' } as const;
export const NO_BODY = { media: '' } as const;
/** A stored file: whole, one range, or not modified. */
export const FILE_REPLIES = { 200: FILE, 206: FILE, 304: NO_BODY } as const;

/** Any JSON value (a device's distrib.json, served as stored). */
export const anyJson = z.json();
