/**
 * Status, availability and connection logs: POST .../online (through the
 * heartbeat coalescer, src/devices/heartbeats.ts), last-seen, availability
 * (src/devices/availability.ts), logs, purge-logs.
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import { normalizeIp } from '../../auth/gate.js';
import type { Router } from './route.js';
import { meetingTime } from './replies.js';
import { keyParams } from './schemas.js';
import { write } from './model.js';
import { findDevice, requireDevice } from '../../devices/lookups.js';
import { availabilityOf, seenAt } from '../../devices/availability.js';

/** The document sends services as {"ssh": 1, "vnc": 0}; a plain list is accepted too. */
const servicesField = z.union([
  z.array(z.string().max(16)).max(16),
  z.record(z.string().max(16), z.union([z.number(), z.boolean(), z.string()])).transform((m) =>
    Object.entries(m).filter(([, on]) => on === true || on === 1 || on === '1').map(([name]) => name),
  ),
]);

const onlineBody = z
  .object({ ip_address: z.string().max(64).optional(), services: servicesField.optional(), note: z.string().optional() })
  .optional()
  .transform((b) => b ?? {});

export function deviceStatusRoutes(route: Router, s: Services): void {
  const { store } = s;

  route('POST', '/api/devices/:key/online', { access: 'device', params: keyParams, body: onlineBody }, async ({ req, who, params, body }) => {
    const oid = who.deviceOid ?? await requireDevice(store, params.key);
    const at = Date.now();
    const ip = body.ip_address ?? normalizeIp(req.ip);
    await s.heartbeats.submit({ oid, subject: who.subject, at, ip, services: body.services, note: body.note });
    return { ok: true, ip_address: ip, last_seen: meetingTime(at) };
  });

  route('GET', '/api/devices/:key/last-seen', { access: 'user', params: keyParams }, async ({ who, params }) => {
    const at = seenAt((await store.get(who.subject, await requireDevice(store, params.key))).values.last_seen);
    return { device_key: params.key, last_seen: at === undefined ? null : meetingTime(at) };
  });

  route('GET', '/api/devices/:key/availability', { access: 'user', params: keyParams }, async ({ who, params }) => {
    const oid = await findDevice(store, params.key);
    const a = oid === undefined ? undefined : await availabilityOf(s, who.subject, oid, Date.now());
    if (a === undefined) return { status: 'Unknown', last_heartbeat: null, since: null, uptime: null };
    return {
      status: a.available ? 'Available' : 'Disconnected',
      last_heartbeat: meetingTime(a.lastHeartbeat),
      since: meetingTime(a.since),
      uptime: a.age,
    };
  });

  route('GET', '/api/devices/:key/logs', { access: 'user', params: keyParams }, async ({ params }) => {
    const oid = await requireDevice(store, params.key);
    return (await s.events.list(oid, s.config.status_max_logs)).map((e) => ({ timestamp: meetingTime(e.at), event: e.event, host: e.host, remote: e.remote }));
  });

  route('POST', '/api/devices/:key/purge-logs', { access: 'admin', params: keyParams }, async ({ params }) => {
    const oid = await requireDevice(store, params.key);
    await write(s, (tx) => tx.w.events.purge(oid));
    return { success: true };
  });
}
