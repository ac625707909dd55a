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
import type { Store, StoreTx } from '../store/store.js';
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
  /** The node_url of the node whose SSH server serves it ('': the daemon's only node). */
  node_url: string;
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
  /** The node_url of the node reserving it (''  when unset): its SSH server serves the tunnel. */
  node: string;
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

export async function tunnelOf(store: Store, oid: number): Promise<TunnelView> {
  const v = await store.rawValues(oid);
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
    node_url: v.node_url ?? '',
  };
}

const isLive = (t: TunnelView, now: number) => t.expiresAt > now;

async function tunnelsOf(store: Store, oids: readonly number[]): Promise<TunnelView[]> {
  const out: TunnelView[] = [];
  for (const oid of oids) out.push(await tunnelOf(store, oid));
  return out;
}

const all = async (store: Store) => tunnelsOf(store, await store.find(SYSTEM, TUNNEL, { criteria: [], sortprop: { ns: '', name: 'port' }, sorttype: 'old_numeric' }));

/** Tunnels not expired yet, by port. */
export async function liveTunnels(store: Store, now: number): Promise<TunnelView[]> {
  return (await all(store)).filter((t) => isLive(t, now));
}

/** A device's tunnels not expired yet, by port. */
export async function deviceTunnels(store: Store, deviceKey: string, now: number): Promise<TunnelView[]> {
  const oids = await store.find(SYSTEM, TUNNEL, { criteria: [{ ns: '', name: 'device_key', op: '=', value: deviceKey }] });
  return (await tunnelsOf(store, oids)).filter((t) => isLive(t, now)).sort((a, b) => a.port - b.port);
}

/** The device's live tunnel on `port`, if any (what an SSH forward request must match). */
export async function tunnelOnPort(store: Store, deviceKey: string, port: number, now: number): Promise<TunnelView | undefined> {
  const oid = await store.findOne(TUNNEL, '', 'port', String(port));
  const t = oid === undefined ? undefined : await tunnelOf(store, oid);
  return t && t.device_key === deviceKey && isLive(t, now) ? t : undefined;
}

/**
 * The device's tunnel for this service, extended by `lifetimeMs`; or a new one
 * on the lowest free port of the range (an expired tunnel's port is free: it
 * is destroyed here). Undefined when every port of the range is taken.
 */
export async function reserve(store: StoreTx, r: ReserveRequest): Promise<Reservation | undefined> {
  const released: TunnelView[] = [];
  const expiresAt = new Date(r.now + r.lifetimeMs).toISOString();
  const [mine] = await store.find(SYSTEM, TUNNEL, {
    criteria: [
      { ns: '', name: 'device_key', op: '=', value: r.deviceKey },
      { ns: '', name: 'service', op: '=', value: r.service },
    ],
  });
  if (mine !== undefined) {
    const t = await tunnelOf(store, mine);
    if (isLive(t, r.now)) {
      // Extended where it is: the node that reserved it still serves it, whichever node was asked.
      await store.set(SYSTEM, mine, '', { expires_at: expiresAt });
      return { tunnel: await tunnelOf(store, mine), created: false, released };
    }
    await store.destroy(SYSTEM, mine);
    released.push(t);
  }
  // Each look-up is one probe of the (class, ns, name, value) index: the cost grows with the ports in use below the first free one.
  for (let port = r.range.min; port <= r.range.max; port++) {
    const taken = await store.findOne(TUNNEL, '', 'port', String(port));
    if (taken !== undefined) {
      const t = await tunnelOf(store, taken);
      if (isLive(t, r.now)) continue;
      await store.destroy(SYSTEM, taken);
      released.push(t);
    }
    const oid = await store.create(SYSTEM, TUNNEL, {
      device_key: r.deviceKey,
      service: r.service,
      port: String(port),
      local_port: String(r.localPort),
      url: r.url(port),
      node_url: r.node,
      expires_at: expiresAt,
    });
    return { tunnel: await tunnelOf(store, oid), created: true, released };
  }
  return undefined;
}

/** Destroys the tunnels that expired or whose device is gone; returns them. */
export async function sweep(store: StoreTx, now: number, deviceExists: (key: string) => Promise<boolean>): Promise<TunnelView[]> {
  const gone: TunnelView[] = [];
  for (const t of await all(store)) if (!isLive(t, now) || !(await deviceExists(t.device_key))) gone.push(t);
  for (const t of gone) await store.destroy(SYSTEM, t.oid);
  return gone;
}

/** Records the agent's report on a tunnel (a StoreTx's write). */
export function report(store: StoreTx, oid: number, r: { status: string; error: string; upnp: string; at: number }): Promise<void> {
  return store.set(SYSTEM, oid, '', { status: r.status, error: r.error, upnp: r.upnp, reported_at: new Date(r.at).toISOString() });
}
