/**
 * SSH keys (the document's "SSH Keys Management"): the keys an
 * AuthorizedKeysCommand asks for, a device's key, the users' authorized_keys
 * file, the server's host key, and the refused private-key download.
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from './route.js';
import { fail } from './replies.js';
import { keyParams } from './schemas.js';
import { write } from './model.js';
import { requireDevice } from '../../devices/lookups.js';
import { deviceAuthorized, registerDeviceKey, usableUserKeys, userSshKeys, type SshKeyView } from '../../devices/ssh-keys.js';
import type { TunnelRuntime } from '../../devices/tunnel-runtime.js';
import { keyscanLine } from '../../tunnels/host-key.js';
import { authorizedKeyLines } from '../../users/authorized-keys.js';
import { parsePublicKey, type PublicKeyLine } from '../../tunnels/public-key.js';

const userQuery = z.object({ user: z.string().min(1).max(128) });
const keyBody = z.object({ ssh_public_key: z.string().min(1).max(16384), user_name: z.string().min(1).max(128).optional() });

/** A stored key as an authorized_keys line: the key, then its comment if it has one. */
export const keyLine = (k: SshKeyView) => (k.comment ? `${k.pubkey} ${k.comment}` : k.pubkey);

/** A public key line from a request, or 400 naming the field. */
export function requirePublicKey(line: string, field: string): PublicKeyLine {
  const key = parsePublicKey(line);
  if (!key) throw fail(400, `invalid ${field}`);
  return key;
}

const TEXT = 'text/plain; charset=utf-8';

export function sshKeyRoutes(route: Router, s: Services, rt: TunnelRuntime): void {
  const { store } = s;

  // The SSH-side callers; the document lets localhost read these without the token.
  route('GET', '/api/ssh-keys', { access: 'ssh-read', query: userQuery }, async ({ query }) => {
    const keys = await usableUserKeys(store, query.user);
    if (keys.length === 0) throw fail(404, 'No keys for this user');
    return { keys: keys.map(keyLine) };
  });

  route('GET', '/api/ssh-keys/devices', { access: 'ssh-read', query: userQuery }, async ({ query }) => {
    const devices = [];
    for (const k of await userSshKeys(store, query.user)) {
      devices.push({ device_key: k.device_key, ssh_public_key: keyLine(k), authorized: (await deviceAuthorized(store, k.device_key)) ? 1 : 0, revoked: k.revoked ? 1 : 0 });
    }
    return { devices };
  });

  route('PUT', '/api/devices/:key/ssh-key', { access: 'admin', params: keyParams, body: keyBody }, async ({ req, who, params, body }) => {
    await requireDevice(store, params.key);
    const key = requirePublicKey(body.ssh_public_key, 'ssh_public_key');
    const done = await write(s, (tx) => registerDeviceKey(tx, who.subject, params.key, key, body.user_name));
    req.log.info({ audit: 'ssh-key', action: 'set', device_key: params.key, revoked_others: done.revokedOthers, by: who.label }, 'device ssh key set');
    return { success: true };
  });

  // The document: "GET/DELETE /api/devices/{device_key}/ssh-key: not exposed, 501".
  for (const method of ['GET', 'DELETE'] as const) {
    route(method, '/api/devices/:key/ssh-key', { access: 'public' }, ({ reply }) => {
      reply.code(501);
      return { error: 'Not implemented' };
    });
  }

  route('GET', '/api/users/authorized-keys', { access: 'local' }, async ({ reply }) => {
    const lines = await authorizedKeyLines(store);
    reply.type(TEXT);
    return lines.join('');
  });

  /**
   * The document serves a device's private key (.ppk) with its passphrase in a
   * header. cced never holds a device's private key: a device makes its key
   * pair itself and registers the public half (PUT .../ssh-key), so a leaked
   * database or admin token cannot impersonate devices. The path answers 404
   * ("private key absent", the document's own error) with that reason.
   */
  route('GET', '/api/devices/:key/private-ppk', { access: 'admin', params: keyParams }, async ({ params }) => {
    await requireDevice(store, params.key);
    throw fail(404, 'No private key: cced never stores device private keys; generate the key pair on the device and register its public key with PUT /api/devices/{device_key}/ssh-key');
  });

  route('GET', '/api/ssh-hostkey', { access: 'public' }, ({ reply }) => {
    if (!rt.hostKey || !rt.sshAddress) throw fail(404, 'The embedded SSH server is disabled (ssh_listen_address)');
    reply.type(TEXT);
    return keyscanLine(s.config.tunnel_host, rt.sshAddress.port, rt.hostKey.public);
  });
}
