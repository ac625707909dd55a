/**
 * The long-lived side of tunnels, one per daemon: the embedded SSH server
 * (when `ssh_listen_address` is set) with its host key and the authority it
 * asks (which keys a device may log in with, which ports it may forward), and
 * the sweeper that destroys expired tunnels and closes their forwards.
 * Whatever destroys a Tunnel or a Device (any door, the device cascade of
 * cascade.ts), its forward closes and the device's SSH session ends as soon
 * as that commits; whatever revokes, destroys or moves an SshKey, the
 * sessions that logged in with that key end the same way. Created by the door that serves tunnels; it listens once
 * the daemon is ready and stops when it closes.
 */
import type { AddressInfo } from 'node:net';
import type { ParsedKey } from 'ssh2';
import type { Services } from '../services.js';
import type { StoreTx } from '../store/store.js';
import { overlapWithEphemeral } from '../tunnels/ephemeral-ports.js';
import { loadHostKey, type HostKey } from '../tunnels/host-key.js';
import { TunnelSshServer, type TunnelAuthority } from '../tunnels/ssh-server.js';
import { parsePublicKey } from '../tunnels/public-key.js';
import { TUNNEL, sweep, tunnelOnPort, type TunnelView } from '../tunnels/ports.js';
import { claim } from '../auth/claims.js';
import { clusterOf } from '../store/cluster.js';
import { DEVICE, SSH_KEY } from './classes.js';
import { findDevice } from './lookups.js';
import { deviceSshKeys, deviceUsable } from './ssh-keys.js';

export interface TunnelRuntime {
  /** Present when the SSH server is enabled. */
  readonly hostKey?: HostKey;
  readonly ssh?: TunnelSshServer;
  /** Where the SSH server listens, once started. */
  sshAddress?: AddressInfo;
  /** Destroys the expired tunnels (and those of deleted devices) now; returns them (their forwards close as each DESTROY commits). */
  sweep(): Promise<TunnelView[]>;
  /** open when the device forwards the port right now (embedded SSH server), else what the agent last reported. */
  statusOf(t: TunnelView): string;
  /** Opens the SSH server's listener (when enabled). */
  listen(): Promise<void>;
  /** Stops the sweeper, the destroy hooks and the SSH server. */
  close(): Promise<void>;
}

const runtimes = new WeakMap<Services, TunnelRuntime>();

/** How often a node of a shared database asks again about its SSH sessions and forwards (another node may have ended them). */
const RECHECK_MS = 5000;

/** The tunnel runtime of a daemon (tests reach the SSH server's port through it). */
export function tunnelRuntime(s: Services): TunnelRuntime {
  const r = runtimes.get(s);
  if (!r) throw new Error('tunnel runtime not started');
  return r;
}

function authority(s: Services): TunnelAuthority {
  return {
    // Each first learns of what other nodes acknowledged (Store.catchUp): a key revoked there is refused here at once.
    keysOf: async (deviceKey) => {
      await s.store.catchUp();
      return (await deviceUsable(s.store, deviceKey))
        ? (await deviceSshKeys(s.store, deviceKey)).flatMap((k) => (k.revoked ? [] : [parsePublicKey(k.pubkey)?.parsed].filter((p): p is ParsedKey => p !== undefined)))
        : [];
    },
    mayForward: async (deviceKey, port) => {
      await s.store.catchUp();
      if (!(await deviceUsable(s.store, deviceKey))) return false;
      const t = await tunnelOnPort(s.store, deviceKey, port, Date.now());
      return t !== undefined && servedHere(s.config, t);
    },
    // SSH key failures have counters of their own: they never ban AUTH or the REST paths of the address. Counted
    // once the connection has closed: no answer waits for it.
    failed: (ip, user) => void s.auth.bans.count(claim('ssh-key', ip, user)),
    mayTry: (ip, user) => (user === undefined ? s.auth.bans.addressBanLeft(ip) : s.auth.bans.banLeft(claim('ssh-key', ip, user))) === undefined,
  };
}

/**
 * Does this node's SSH server serve the tunnel? Several nodes share the Tunnels (one database) but a
 * forward listens on the host of the node the device logged in to: the node that reserved it serves it,
 * and the others refuse its forward (the device is told that node's URL). A tunnel reserved while no
 * node_url was set ('') is every node's, as is every tunnel of a node without one.
 */
export function servedHere(config: Services['config'], t: TunnelView): boolean {
  return config.node_url === undefined || t.node_url === '' || t.node_url === config.node_url;
}

/**
 * Closes a destroyed Tunnel's forward (with its audit line) and a destroyed
 * Device's sessions once the DESTROY commits, whatever destroyed it: the
 * sweeper, a reservation reusing an expired port, the device cascade, a client.
 */
function hookDestroys(s: Services, ssh: TunnelSshServer | undefined): () => void {
  const { store, log } = s;
  const offTunnel = store.beforeDestroy(TUNNEL, ({ values }, tx) => {
    const port = Number(values.port);
    const why = Date.parse(values.expires_at ?? '') <= Date.now() ? 'expired' : 'destroyed';
    tx.w.afterCommit(() => {
      ssh?.release(port);
      log.info({ audit: 'tunnel-close', device_key: values.device_key, service: values.service, port, why }, 'tunnel closed');
    });
  });
  const offDevice = store.beforeDestroy(DEVICE, ({ values }, tx) => {
    const key = values.device_key ?? '';
    tx.w.afterCommit(() => {
      ssh?.disconnect(key);
      log.info({ audit: 'device-gone', device_key: key }, 'device destroyed: its tunnels and ssh sessions are closed');
    });
  });
  return () => {
    offTunnel();
    offDevice();
  };
}

/**
 * Ends the sessions that logged in with an SshKey once a write that takes the
 * key away commits, whatever the door (a Meeting path, /v2/cce SET or DESTROY,
 * a COMMIT, the device cascade): the key revoked, destroyed, given to another
 * device, or replaced by another key. A session is never older than its key's right.
 */
function hookKeyChanges(s: Services, ssh: TunnelSshServer): () => void {
  const { store, log } = s;
  const endSessionsOf = (tx: StoreTx, pubkey: string | undefined, why: string) => {
    const key = parsePublicKey(pubkey ?? '')?.canonical;
    if (key === undefined) return;
    tx.w.afterCommit(() => {
      for (const deviceKey of ssh.disconnectKey(key)) log.info({ audit: 'ssh-key-session-end', device_key: deviceKey, why }, 'ssh session of a key that no longer lets in ended');
    });
  };
  const offs = [
    store.beforeDestroy(SSH_KEY, ({ values }, tx) => endSessionsOf(tx, values.pubkey, 'destroyed')),
    store.watchValue(SSH_KEY, 'revoked', async ({ oid, to }, tx) => (to === '1' ? endSessionsOf(tx, await tx.rawValue(oid, '', 'pubkey'), 'revoked') : undefined)),
    store.watchValue(SSH_KEY, 'device_key', async ({ oid }, tx) => endSessionsOf(tx, await tx.rawValue(oid, '', 'pubkey'), 'moved')),
    store.watchValue(SSH_KEY, 'pubkey', ({ from }, tx) => endSessionsOf(tx, from, 'replaced')),
  ];
  return () => offs.forEach((off) => off());
}

/** The runtime of a daemon: its sweeper runs and its destroy hooks are installed from now until close(). */
export function startTunnelRuntime(s: Services): TunnelRuntime {
  const { config, log, store } = s;
  if (config.tunnel_port_min > config.tunnel_port_max) {
    throw new Error(`config: tunnel_port_min (${config.tunnel_port_min}) is above tunnel_port_max (${config.tunnel_port_max})`);
  }
  const hostKey = config.ssh_listen_address ? loadHostKey(config.state_dir) : undefined;
  const ssh = hostKey ? new TunnelSshServer(hostKey.private, authority(s), log) : undefined;
  const unhookDestroys = hookDestroys(s, ssh);
  const unhookKeys = ssh ? hookKeyChanges(s, ssh) : () => {};
  const every = Math.min(config.tunnel_lifetime, 60) * 1000;
  const runtime: TunnelRuntime = {
    hostKey,
    ssh,
    async sweep() {
      // Nothing is destroyed while writes are suspended; expired tunnels stay hidden and unusable meanwhile.
      if (s.state.suspended !== undefined) return [];
      return s.writer.submit(async (w) => {
        const tx = store.at(w);
        return sweep(tx, Date.now(), async (key) => (await findDevice(tx, key)) !== undefined);
      });
    },
    statusOf(t) {
      // Another node's tunnel: what its agent reported (this node's SSH server never holds its forward).
      if (!ssh || !servedHere(config, t)) return t.status;
      if (ssh.isLive(t.port)) return 'open';
      return t.status === 'error' ? 'error' : 'pending';
    },
    async listen() {
      if (ssh && config.ssh_listen_address) {
        runtime.sshAddress = await ssh.listen(config.ssh_listen_address.host, config.ssh_listen_address.port);
        log.info({ address: runtime.sshAddress.address, port: runtime.sshAddress.port }, 'ssh tunnel server listening');
        const shared = overlapWithEphemeral(config.tunnel_port_min, config.tunnel_port_max);
        if (shared !== undefined) {
          log.warn(
            { tunnel_port_min: config.tunnel_port_min, tunnel_port_max: config.tunnel_port_max, shared: `${shared[0]}-${shared[1]}` },
            "tunnel ports inside the kernel's range for outgoing connections (ip_local_port_range): a connection can hold one and a forward then fails",
          );
        }
      }
    },
    async close() {
      clearInterval(timer);
      clearInterval(recheck);
      unhookDestroys();
      unhookKeys();
      await ssh?.close();
    },
  };
  runtimes.set(s, runtime);
  // The Tunnels are every node's: one node sweeps them at a time (a node skips a turn another is running).
  const cluster = clusterOf(store);
  const timer = setInterval(() => void cluster.once('tunnel-sweep', () => runtime.sweep()).catch((err: unknown) => log.error({ err }, 'tunnel sweep failed')), every);
  timer.unref();
  // Several nodes: what another node's writes took away, this node's hooks never saw; every node looks at its own sessions.
  const recheck = ssh && cluster.shared ? setInterval(() => void ssh.recheck().catch((err: unknown) => log.error({ err }, 'ssh recheck failed')), RECHECK_MS) : undefined;
  recheck?.unref();
  return runtime;
}
