/**
 * The embedded SSH reverse-tunnel server (ssh2). It does one thing: a device
 * logs in as its device_key with one of its registered, unrevoked public keys
 * and asks for `tcpip-forward` of the port reserved for it (a Tunnel object);
 * the server then listens on 127.0.0.1:<port> of the daemon host and hands
 * each incoming connection to the device through a `forwarded-tcpip` channel.
 * Everything else is refused: passwords, shells, exec, subsystems, `ssh -L`
 * (direct-tcpip), Unix sockets, and any other port.
 *
 * What a device may do is asked of a `TunnelAuthority` (the facade's store
 * look-ups) at the moment it asks, so a key revoked or a tunnel expired a
 * second ago counts.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import ssh2, { type AuthContext, type ClientInfo, type Connection, type ParsedKey, type TcpipBindInfo } from 'ssh2';
import { canonicalKey, sameKey } from './public-key.js';

const { Server } = ssh2;

/** The address forwards are bound to: the daemon host only; a front proxy or an operator's SSH jump reaches them. */
export const FORWARD_HOST = '127.0.0.1';
/** A connection that has not authenticated by then is dropped. */
const AUTH_TIMEOUT_MS = 30_000;
/** Rejected public keys one connection may offer before it is dropped. */
const MAX_KEY_REJECTS = 10;

export interface TunnelAuthority {
  /** The parsed, unrevoked keys a device may log in with (none for an unknown or revoked device). */
  keysOf(deviceKey: string): Promise<ParsedKey[]>;
  /** May this device forward this port now (its own live Tunnel)? */
  mayForward(deviceKey: string, port: number): Promise<boolean>;
  /** A connection ended without authenticating after `user` was refused: one failed claim of (address, user). */
  failed(ip: string, user: string): void;
  /** May this address try to log in (as `user`) now? Not while the address, or that pair, is banned. */
  mayTry(ip: string, user?: string): boolean;
}

interface Forward {
  deviceKey: string;
  client: Connection;
  listener: net.Server;
  sockets: Set<net.Socket>;
}

const DEVICE_KEY = /^[A-Z0-9][A-Z0-9_-]{3,63}$/;

/** Who a logged-in connection is: the device, and the key it proved itself with (`<type> <base64>`). */
interface Session {
  deviceKey: string;
  key: string;
}

export class TunnelSshServer {
  private readonly server: InstanceType<typeof Server>;
  private readonly forwards = new Map<number, Forward>();
  /** Every connection; its session once it has logged in. */
  private readonly clients = new Map<Connection, Session | undefined>();

  constructor(
    hostKey: string,
    private readonly authority: TunnelAuthority,
    private readonly log: Logger,
  ) {
    this.server = new Server({ hostKeys: [hostKey], ident: 'cced' }, (client, info) => this.onConnection(client, info));
    this.server.on('error', (err: Error) => this.log.error({ err }, 'ssh server error'));
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Is a device forwarding this port right now? */
  isLive(port: number): boolean {
    return this.forwards.has(port);
  }

  /** Stops forwarding a port (its tunnel expired or was released). */
  release(port: number): void {
    const f = this.forwards.get(port);
    if (!f) return;
    this.forwards.delete(port);
    f.listener.close();
    for (const s of f.sockets) s.destroy();
    this.log.info({ audit: 'tunnel-forward-close', device_key: f.deviceKey, port }, 'tunnel forward closed');
  }

  /** Ends every session of a device (it was destroyed). */
  disconnect(deviceKey: string): void {
    for (const [client, session] of this.clients) if (session?.deviceKey === deviceKey) client.end();
  }

  /** Ends every session that logged in with this key (`<type> <base64>`: it was revoked, removed or moved); answers their devices. */
  disconnectKey(key: string): string[] {
    const ended: string[] = [];
    for (const [client, session] of this.clients) {
      if (session?.key !== key) continue;
      client.end();
      ended.push(session.deviceKey);
    }
    return ended;
  }

  /**
   * Asks the authority again about every session and forward of this server, and ends those it no longer
   * allows: what another node's write took away (a tunnel destroyed or expired there, a key revoked there,
   * a device deleted there), which this node's own write hooks never saw. Returns how many ended.
   */
  async recheck(): Promise<number> {
    let ended = 0;
    for (const [client, session] of [...this.clients]) {
      if (session === undefined) continue;
      const keys = await this.authority.keysOf(session.deviceKey);
      if (keys.some((k) => canonicalKey(k) === session.key)) continue;
      client.end();
      ended++;
      this.log.info({ audit: 'ssh-key-session-end', device_key: session.deviceKey, why: 'no longer allowed' }, 'ssh session of a key that no longer lets in ended');
    }
    for (const [port, f] of [...this.forwards]) {
      if (this.forwards.get(port) !== f || (await this.authority.mayForward(f.deviceKey, port))) continue;
      this.release(port);
      ended++;
    }
    return ended;
  }

  async close(): Promise<void> {
    for (const port of [...this.forwards.keys()]) this.release(port);
    for (const client of this.clients.keys()) client.end();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: Connection, info: ClientInfo): void {
    let rejects = 0;
    /** The user name of the last refused attempt: the identity a failed connection claimed. */
    let claimed = '';
    this.clients.set(client, undefined);
    const timer = setTimeout(() => client.end(), AUTH_TIMEOUT_MS);
    timer.unref();
    // A client error (reset, bad packet) ends that connection only; 'close' follows.
    client.on('error', (err) => this.log.debug({ ip: info.ip, err: err.message }, 'ssh client error'));
    client.on('close', () => {
      clearTimeout(timer);
      const deviceKey = this.clients.get(client)?.deviceKey;
      this.clients.delete(client);
      for (const [port, f] of this.forwards) if (f.client === client) this.release(port);
      if (deviceKey !== undefined) this.log.info({ audit: 'ssh-logout', device_key: deviceKey, ip: info.ip }, 'ssh session closed');
      else if (rejects > 0) this.authority.failed(info.ip, claimed);
    });
    if (!this.authority.mayTry(info.ip)) client.end();
    client.on('authentication', (ctx) => {
      // A banned claim is not even checked (nor counted again): the connection ends.
      if (!this.authority.mayTry(info.ip, ctx.username)) {
        ctx.reject();
        client.end();
        return;
      }
      // ssh2 waits for the answer: the keys are read from the store first.
      void this.authenticate(client, ctx).then(
        (passed) => {
          if (passed) return;
          rejects++;
          claimed = ctx.username;
          if (ctx.method === 'publickey') this.log.info({ audit: 'ssh-auth', user: ctx.username.slice(0, 64), ip: info.ip, outcome: 'fail' }, 'ssh key refused');
          if (rejects > MAX_KEY_REJECTS) client.end();
        },
        (err: unknown) => {
          this.log.error({ err, ip: info.ip }, 'ssh authentication failed');
          client.end();
        },
      );
    });
    client.on('ready', () => {
      clearTimeout(timer);
      this.log.info({ audit: 'ssh-login', device_key: this.clients.get(client)?.deviceKey, ip: info.ip }, 'ssh session opened');
      client.on('session', (_accept, reject) => reject());
      client.on('tcpip', (_accept, reject) => reject());
      client.on('openssh.streamlocal', (_accept, reject) => reject());
      client.on('request', (accept, reject, name, bind) => {
        const deviceKey = this.clients.get(client)!.deviceKey;
        if (name === 'tcpip-forward') {
          void this.forward(client, deviceKey, bind as TcpipBindInfo, accept, reject).catch((err: unknown) => {
            this.log.error({ err, device_key: deviceKey }, 'tunnel forward failed');
            reject?.();
          });
          return;
        }
        if (name === 'cancel-tcpip-forward') {
          const port = (bind as TcpipBindInfo).bindPort;
          if (this.forwards.get(port)?.client !== client) return reject?.();
          this.release(port);
          return accept?.();
        }
        reject?.();
      });
    });
  }

  /**
   * Answers one authentication attempt: only public keys of the device named
   * by the user name pass. Returns false for a refusal that counts toward
   * MAX_KEY_REJECTS (the opening `none` probe of every client does not).
   */
  private async authenticate(client: Connection, ctx: AuthContext): Promise<boolean> {
    if (ctx.method !== 'publickey' || !DEVICE_KEY.test(ctx.username)) {
      ctx.reject(['publickey']);
      return ctx.method === 'none';
    }
    const key = (await this.authority.keysOf(ctx.username)).find((k) => sameKey(k, ctx.key));
    if (!key || (ctx.signature && key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true)) {
      ctx.reject(['publickey']);
      return false;
    }
    // Without a signature the client only asks whether this key would do; the session starts after the signed attempt.
    if (ctx.signature) this.clients.set(client, { deviceKey: ctx.username, key: canonicalKey(key) });
    ctx.accept();
    return true;
  }

  private async forward(
    client: Connection,
    deviceKey: string,
    bind: TcpipBindInfo,
    accept: ((port?: number) => void) | undefined,
    reject: (() => void) | undefined,
  ): Promise<void> {
    const port = bind.bindPort;
    if (!Number.isInteger(port) || !(await this.authority.mayForward(deviceKey, port)) || this.forwards.has(port)) {
      this.log.info({ audit: 'tunnel-forward-refused', device_key: deviceKey, port }, 'tunnel forward refused');
      return reject?.();
    }
    const sockets = new Set<net.Socket>();
    const listener = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      // The bound address is echoed as the device asked for it: OpenSSH matches the channel to its forward by it.
      client.forwardOut(bind.bindAddr, port, socket.remoteAddress ?? FORWARD_HOST, socket.remotePort ?? 0, (err, channel) => {
        if (err) return socket.destroy();
        channel.on('error', () => socket.destroy());
        socket.pipe(channel).pipe(socket);
      });
    });
    listener.once('error', (err) => {
      this.log.warn({ device_key: deviceKey, port, err: err.message }, 'tunnel port could not be bound');
      reject?.();
    });
    listener.listen(port, FORWARD_HOST, () => {
      this.forwards.set(port, { deviceKey, client, listener, sockets });
      this.log.info({ audit: 'tunnel-forward-open', device_key: deviceKey, port }, 'tunnel forward opened');
      accept?.();
    });
  }
}
