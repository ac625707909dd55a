/**
 * The tunnel rule, checked inside the reserving mutation so that it holds at
 * the instant the port is taken: the device is not revoked, `authorized=1`,
 * `token_count > 0` (the Meeting document: "only an authorized device WITH
 * tokens may be used for tunnel/flash"; opening a tunnel does not consume one)
 * and its last heartbeat is at most `tunnel_max_last_seen` seconds old. The
 * port itself is reserved in the store by src/tunnels/ports.ts. Synchronous:
 * run inside a writer mutation.
 */
import type { StoreTx } from '../store/store.js';
import type { Config } from '../config/schema.js';
import { DeviceError, type DeviceCode } from '../errors.js';
import { DEFAULT_LOCAL_PORT, deviceTunnels, report, reserve, type Reservation } from '../tunnels/ports.js';
import { requireDevice } from './lookups.js';

export const SERVICES = ['ssh', 'vnc', 'http', 'scp'] as const;

export type TunnelConfig = Pick<Config, 'tunnel_max_last_seen' | 'tunnel_host' | 'node_url' | 'tunnel_lifetime' | 'tunnel_port_min' | 'tunnel_port_max'>;

/** Why this device may not have a tunnel now (its values as stored), or undefined when it may. */
export function tunnelRefusal(v: Record<string, string>, now: number, maxLastSeenS: number): DeviceCode | undefined {
  if (v.revoked === '1') return 'device.revoked';
  if (v.authorized !== '1') return 'device.unauthorized';
  if (!(Number(v.token_count) > 0)) return 'device.no-tokens';
  const seen = Date.parse(v.last_seen ?? '');
  if (!Number.isFinite(seen) || now - seen > maxLastSeenS * 1000) return 'device.offline';
  return undefined;
}

/** How a person reaches the tunnel; the forward itself is bound on the daemon host. */
export function tunnelUrl(svc: string, host: string, p: number): string {
  switch (svc) {
    case 'ssh':
      return `ssh -p ${p} device@${host}`;
    case 'scp':
      return `scp -P ${p} <file> device@${host}:`;
    case 'vnc':
      return `vnc://${host}:${p}`;
    default:
      return `http://${host}:${p}/`;
  }
}

export interface TunnelRequest {
  deviceKey: string;
  service: string;
  /** The port inside the device (default: the service's usual one). */
  localPort?: number;
  now: number;
}

/** Reserves (or extends) the device's tunnel for a service, under the tunnel rule. */
export async function openTunnel(store: StoreTx, config: TunnelConfig, r: TunnelRequest): Promise<Reservation> {
  const oid = await requireDevice(store, r.deviceKey);
  const why = tunnelRefusal(await store.rawValues(oid), r.now, config.tunnel_max_last_seen);
  if (why) throw new DeviceError(why);
  const reserved = await reserve(store, {
    deviceKey: r.deviceKey,
    service: r.service,
    localPort: r.localPort ?? DEFAULT_LOCAL_PORT[r.service]!,
    url: (p) => tunnelUrl(r.service, config.tunnel_host, p),
    node: config.node_url ?? '',
    now: r.now,
    lifetimeMs: config.tunnel_lifetime * 1000,
    range: { min: config.tunnel_port_min, max: config.tunnel_port_max },
  });
  if (!reserved) throw new DeviceError('tunnel.no-free-port');
  return reserved;
}

export interface TunnelReport {
  service: string;
  port: number;
  status: string;
  error: string;
  upnp: string;
  at: number;
}

/** Records the device agent's report on its live tunnel for this service and port. */
export async function reportTunnel(store: StoreTx, deviceKey: string, r: TunnelReport): Promise<void> {
  const t = (await deviceTunnels(store, deviceKey, r.at)).find((x) => x.port === r.port && x.service === r.service);
  if (!t) throw new DeviceError('tunnel.unknown');
  await report(store, t.oid, { status: r.status, error: r.error, upnp: r.upnp, at: r.at });
}
