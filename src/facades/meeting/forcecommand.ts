/**
 * ForceCommand key management (the document's "ForceCommand" section): what an
 * SSH bastion's ForceCommand script calls to register, check, read and remove
 * device keys. Every path needs the SSH token (X-Meeting-Ssh-Token) or an admin
 * bearer token, from any address: registering a key grants SSH access to a
 * device, so being local is not enough. Replies keep the document's
 * `{"status": ...}` shapes.
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from './route.js';
import { FacadeError, fail, parseWith } from './replies.js';
import { write } from './model.js';
import { keyLine, requirePublicKey } from './ssh-keys.js';
import { findDevice } from '../../devices/lookups.js';
import { activeSshKey, deviceSshKeys, registerDeviceKey, removeDeviceKeys } from '../../devices/ssh-keys.js';
import type { TunnelRuntime } from '../../devices/tunnel-runtime.js';
import { parsePublicKey } from '../../tunnels/public-key.js';

const deviceKey = z.string().min(1).max(128);
const registerBody = z.object({ device_key: deviceKey, pubkey: z.string().min(1).max(16384), user_name: z.string().min(1).max(128).optional() });
const validateBody = z.object({ pubkey: z.string().min(1).max(16384) });
const deviceQuery = z.object({ device_key: deviceKey });
const removeRequest = z.object({ device_key: deviceKey.optional() }).optional().transform((b) => b ?? {});

const invalid = () => new FacadeError(401, { status: 'invalid' });
const notFound = () => new FacadeError(404, { status: 'not_found' });

export function forceCommandRoutes(route: Router, s: Services, rt: TunnelRuntime): void {
  const { store } = s;

  route('POST', '/api/forcecommand/register_device_key', { access: 'ssh', body: registerBody }, async ({ req, who, body }) => {
    const key = requirePublicKey(body.pubkey, 'pubkey');
    const done = await write(s, (tx) => registerDeviceKey(tx, who.subject, body.device_key, key, body.user_name));
    req.log.info({ audit: 'ssh-key', action: 'register', device_key: body.device_key, revoked_others: done.revokedOthers, by: who.label }, 'device ssh key registered');
    return { status: 'ok' };
  });

  route('POST', '/api/forcecommand/validate_device_key', { access: 'ssh', body: validateBody }, async ({ body }) => {
    const key = parsePublicKey(body.pubkey);
    const found = key && (await activeSshKey(store, key));
    if (!found) throw invalid();
    return { status: 'ok', device_key: found.device_key };
  });

  route('GET', '/api/forcecommand/get_device_key', { access: 'ssh', query: deviceQuery }, async ({ req, reply, who, query: { device_key } }) => {
    const oid = await findDevice(store, device_key);
    if (oid === undefined) throw notFound();
    reply.type('text/plain; charset=utf-8');
    const active = (await deviceSshKeys(store, device_key)).find((k) => !k.revoked);
    if (active) return `${keyLine(active)}\n`;
    // The document: with no device_keys entry, devices.ssh_public_key is answered and copied into device_keys.
    const mirrored = (await store.rawValues(oid)).ssh_public_key!;
    const key = mirrored ? parsePublicKey(mirrored) : undefined;
    if (!key) throw notFound();
    await write(s, (tx) => registerDeviceKey(tx, who.subject, device_key, key));
    req.log.info({ audit: 'ssh-key', action: 'replicate', device_key, by: who.label }, 'device ssh key copied from the device');
    return `${mirrored}\n`;
  });

  route('DELETE', '/api/forcecommand/remove_device_key', { access: 'ssh' }, async ({ req, who }) => {
    // The document sends a JSON body; `?device_key=` is accepted too, for clients that send no body with DELETE.
    const named = parseWith(removeRequest, req.body, 'body').device_key ?? parseWith(removeRequest, req.query, 'query').device_key;
    if (named === undefined) throw fail(400, 'device_key: missing');
    const deleted = await write(s, (tx) => removeDeviceKeys(tx, who.subject, named));
    if (deleted === 0) return { status: 'not_found', deleted: 0 };
    req.log.info({ audit: 'ssh-key', action: 'remove', device_key: named, deleted, by: who.label }, 'device ssh keys removed');
    return { status: 'ok', deleted };
  });
}
