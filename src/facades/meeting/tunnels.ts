/**
 * Reverse tunnels (the document's "Tunnels" and request-tunnel-port): listing,
 * opening under the tunnel rule (src/devices/tunnel-rule.ts), the legacy
 * pending poll, the agent's status report and the authorization pre-check.
 */
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import type { Router } from './route.js';
import { fail, fromDeviceError, meetingTime, parseWith } from './replies.js';
import { keyParams } from './schemas.js';
import { write } from './model.js';
import type { Principal } from './auth.js';
import { DeviceError } from '../../errors.js';
import { requireDevice } from '../../devices/lookups.js';
import type { TunnelRuntime } from '../../devices/tunnel-runtime.js';
import { SERVICES, openTunnel, reportTunnel, tunnelRefusal } from '../../devices/tunnel-rule.js';
import { deviceTunnels, liveTunnels, type TunnelView } from '../../tunnels/ports.js';

const service = z.enum(SERVICES, { error: 'expected one of ssh, vnc, http, scp' });
const port = z.number().int().min(1).max(65535);

const serviceBody = z.object({ service, local_port: port.optional() });
const statusBody = z.object({
  service,
  port,
  url: z.string().max(512).optional(),
  upnp: z.string().max(200).optional(),
  error: z.string().max(1000).optional(),
});
const portRequest = z
  .object({ device_key: z.string().min(1).max(128).optional(), service: service.optional() })
  .optional()
  .transform((b) => b ?? {});

export function tunnelRoutes(route: Router, s: Services, rt: TunnelRuntime): void {
  const { store, config } = s;

  /** Reserves (or extends) the device's tunnel for a service, under the tunnel rule; 403 / 404 / 503. */
  async function open(req: FastifyRequest, who: Principal, deviceKey: string, svc: string, localPort?: number): Promise<TunnelView> {
    const now = Date.now();
    const r = await write(s, (tx) => openTunnel(tx, config, { deviceKey, service: svc, localPort, now }));
    if (r.created) req.log.info({ audit: 'tunnel-open', device_key: deviceKey, service: svc, port: r.tunnel.port, by: who.label }, 'tunnel opened');
    return r.tunnel;
  }

  route('GET', '/api/tunnels', { access: 'admin' }, async () => ({
    tunnels: (await liveTunnels(store, Date.now())).map((t) => ({
      device_key: t.device_key,
      service: t.service,
      port: t.port,
      local_port: t.local_port,
      expires_at: meetingTime(t.expiresAt),
      url: t.url,
      status: rt.statusOf(t),
    })),
  }));

  route('POST', '/api/devices/:key/service', { access: 'device', params: keyParams, body: serviceBody }, async ({ req, reply, who, params, body }) => {
    const t = await open(req, who, params.key, body.service, body.local_port);
    // 202: reserved, but the device has not opened its forward yet (it will after its next poll).
    reply.code(rt.statusOf(t) === 'open' ? 200 : 202);
    // Several nodes: the device opens its forward on the SSH server of the node holding the lease, this one or another.
    return t.node_url === '' ? { port: t.port, url: t.url } : { port: t.port, url: t.url, node_url: t.node_url };
  });

  // The ForceCommand script calls this with the SSH token; a device or an admin may too.
  route('POST', '/api/devices/:key/request-tunnel-port', { access: 'ssh-or-device', params: keyParams }, async ({ req, who, params }) => {
    const body = parseWith(portRequest, req.body, 'body');
    const query = parseWith(portRequest, req.query, 'query');
    const named = body.device_key ?? query.device_key;
    if (named !== undefined && named !== params.key) throw fail(400, 'device_key does not match the path');
    const t = await open(req, who, params.key, body.service ?? query.service ?? 'ssh');
    return { status: 'ok', port: t.port };
  });

  route('GET', '/api/devices/:key/tunnel-pending', { access: 'device', params: keyParams }, async ({ params }) => {
    await requireDevice(store, params.key);
    const t = (await deviceTunnels(store, params.key, Date.now())).find((x) => rt.statusOf(x) === 'pending');
    if (!t) return { pending: false };
    return {
      pending: true,
      request: { tunnel_id: String(t.oid), service: t.service, port: t.port, local_port: t.local_port, url: t.url, expires_at: meetingTime(t.expiresAt) },
    };
  });

  route('POST', '/api/devices/:key/tunnel-status', { access: 'device', params: keyParams, body: statusBody }, async ({ req, who, params, body }) => {
    await requireDevice(store, params.key);
    const at = Date.now();
    const status = body.error ? 'error' : 'open';
    await write(s, (tx) => reportTunnel(tx, params.key, { service: body.service, port: body.port, status, error: body.error ?? '', upnp: body.upnp ?? '', at }));
    req.log.info({ audit: 'tunnel-status', device_key: params.key, service: body.service, port: body.port, status, by: who.label }, 'tunnel status reported');
    return {
      ok: true,
      status: { service: body.service, port: body.port, url: body.url ?? '', upnp: body.upnp ?? '', error: body.error ?? '', status, reported_at: meetingTime(at) },
    };
  });

  route('POST', '/api/devices/:key/authorize-tunnel', { access: 'device', params: keyParams }, async ({ params }) => {
    const v = await store.rawValues(await requireDevice(store, params.key));
    const why = tunnelRefusal(v, Date.now(), config.tunnel_max_last_seen);
    if (why) return { ok: false, error: fromDeviceError(new DeviceError(why)).body.error };
    return { ok: true, device_key: params.key, authorized: 1, token_count: Number(v.token_count) };
  });
}
