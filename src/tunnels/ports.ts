/**
 * Tunnel port reservations, as Tunnel objects of the store (one per device
 * and service). Every function here runs inside one writer mutation, and the
 * writer runs mutations one at a time, so "find a free port, then create the
 * Tunnel" is atomic: two requests can never get the same port. The Tunnel
 * class's `port` is also `unique`, so the store itself would refuse a second
 * object on the same port whatever the caller.
 *
 * Tunnels are the daemon's own records, written as SYSTEM: who may get one is
 * decided by the caller (the facade's tunnel rule) inside the same mutation.
 */
import type { Store } from '../store/store.js';
import { SYSTEM } from '../store/store.js';

export const TUNNEL = 'Tunnel';

/** The port inside the device a service listens on, unless the request says otherwise. */
export const DEFAULT_LOCAL_PORT: Record<string, number> = { ssh: 22, scp: 22, vnc: 5900, http: 80 };

export interface TunnelView {
  oid: number;
  device_key: string;
  service: string;
  port: number;
  local_port: number;
  url: string;
  /** ms */
  expiresAt: number;
  /** What the agent last reported: pending | open | error. */
  status: string;
  error: string;
  upnp: string;
}

export interface PortRange {
  min: number;
  max: number;
}

export interface ReserveRequest {
  deviceKey: string;
  service: string;
  localPort: number;
  url: (port: number) => string;
  now: number;
  lifetimeMs: number;
  range: PortRange;
}

export interface Reservation {
  tunnel: TunnelView;
  created: boolean;
  /** Tunnels destroyed on the way because they had expired (their forwards must be closed). */
  released: TunnelView[];
}

export function tunnelOf(store: Store, oid: number): TunnelView {
  const v = store.rawValues(oid);
  return {
    oid,
    device_key: v.device_key!,
    service: v.service!,
    port: Number(v.port),
    local_port: Number(v.local_port),
    url: v.url!,
    expiresAt: Date.parse(v.expires_at!),
    status: v.status!,
    error: v.error!,
    upnp: v.upnp!,
  };
}

const isLive = (t: TunnelView, now: number) => t.expiresAt > now;

const all = (store: Store) => store.find(SYSTEM, TUNNEL, { criteria: [], sortprop: { ns: '', name: 'port' }, sorttype: 'old_numeric' }).map((oid) => tunnelOf(store, oid));

/** Tunnels not expired yet, by port. */
export function liveTunnels(store: Store, now: number): TunnelView[] {
  return all(store).filter((t) => isLive(t, now));
}

/** A device's tunnels not expired yet, by port. */
export function deviceTunnels(store: Store, deviceKey: string, now: number): TunnelView[] {
  return store
    .find(SYSTEM, TUNNEL, { criteria: [{ ns: '', name: 'device_key', op: '=', value: deviceKey }] })
    .map((oid) => tunnelOf(store, oid))
    .filter((t) => isLive(t, now))
    .sort((a, b) => a.port - b.port);
}

/** The device's live tunnel on `port`, if any (what an SSH forward request must match). */
export function tunnelOnPort(store: Store, deviceKey: string, port: number, now: number): TunnelView | undefined {
  const oid = store.findOne(TUNNEL, '', 'port', String(port));
  const t = oid === undefined ? undefined : tunnelOf(store, oid);
  return t && t.device_key === deviceKey && isLive(t, now) ? t : undefined;
}

/**
 * The device's tunnel for this service, extended by `lifetimeMs`; or a new one
 * on the lowest free port of the range (an expired tunnel's port is free: it
 * is destroyed here). Undefined when every port of the range is taken.
 */
export function reserve(store: Store, r: ReserveRequest): Reservation | undefined {
  const released: TunnelView[] = [];
  const expiresAt = new Date(r.now + r.lifetimeMs).toISOString();
  const [mine] = store.find(SYSTEM, TUNNEL, {
    criteria: [
      { ns: '', name: 'device_key', op: '=', value: r.deviceKey },
      { ns: '', name: 'service', op: '=', value: r.service },
    ],
  });
  if (mine !== undefined) {
    const t = tunnelOf(store, mine);
    if (isLive(t, r.now)) {
      store.set(SYSTEM, mine, '', { expires_at: expiresAt });
      return { tunnel: tunnelOf(store, mine), created: false, released };
    }
    store.destroy(SYSTEM, mine);
    released.push(t);
  }
  // Each look-up is one probe of the (class, ns, name, value) index: the cost grows with the ports in use below the first free one.
  for (let port = r.range.min; port <= r.range.max; port++) {
    const taken = store.findOne(TUNNEL, '', 'port', String(port));
    if (taken !== undefined) {
      const t = tunnelOf(store, taken);
      if (isLive(t, r.now)) continue;
      store.destroy(SYSTEM, taken);
      released.push(t);
    }
    const oid = store.create(SYSTEM, TUNNEL, {
      device_key: r.deviceKey,
      service: r.service,
      port: String(port),
      local_port: String(r.localPort),
      url: r.url(port),
      expires_at: expiresAt,
    });
    return { tunnel: tunnelOf(store, oid), created: true, released };
  }
  return undefined;
}

/** Destroys the tunnels that expired or whose device is gone; returns them. */
export function sweep(store: Store, now: number, deviceExists: (key: string) => boolean): TunnelView[] {
  const gone = all(store).filter((t) => !isLive(t, now) || !deviceExists(t.device_key));
  for (const t of gone) store.destroy(SYSTEM, t.oid);
  return gone;
}

/** Records the agent's report on a tunnel. */
export function report(store: Store, oid: number, r: { status: string; error: string; upnp: string; at: number }): void {
  store.set(SYSTEM, oid, '', { status: r.status, error: r.error, upnp: r.upnp, reported_at: new Date(r.at).toISOString() });
}
