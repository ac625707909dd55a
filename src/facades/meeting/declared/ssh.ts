/** The declarations of the Meeting paths of the SSH side: tunnels, SSH keys, ForceCommand. */
import { REFUSED as R, CHECKED_IN_HANDLER, WRITE_REFUSALS } from '../refusals.js';
import { said, type Refused } from '../../../api-reference/declaration.js';
import * as S from '../reply-shapes.js';
import { declare, type Declarations } from './entry.js';

/** What opening a tunnel can meet: the tunnel rule (src/devices/tunnel-rule.ts) and the port pool. */
const TUNNEL_RULE: readonly Refused[] = [R.deviceNotFound, R.deviceNotAuthorized, R.deviceRevoked, R.noTokens, R.deviceOffline, R.noFreePort, ...WRITE_REFUSALS];

/** The ForceCommand paths' own shapes (the document's `{"status": ...}`). */
const INVALID: Refused = { status: 401, body: { status: 'invalid' } };
const NOT_FOUND: Refused = { status: 404, body: { status: 'not_found' } };

export const SSH_DECLARATIONS: Declarations = {
  'GET /api/tunnels': declare('The live tunnels', S.tunnels),
  'POST /api/devices/:key/service': declare('Open (or extend) a tunnel for a service; 202 until the device has opened it', { 200: S.tunnelOpened, 202: S.tunnelOpened }, TUNNEL_RULE),
  'POST /api/devices/:key/request-tunnel-port': declare('A tunnel port for the ForceCommand script (ssh by default)', S.tunnelPort, [
    ...CHECKED_IN_HANDLER,
    said(400, 'device_key does not match the path'),
    R.badPart,
    ...TUNNEL_RULE,
  ]),
  'GET /api/devices/:key/tunnel-pending': declare('A tunnel waiting for the device to open it (legacy poll)', S.tunnelPending, [R.deviceNotFound]),
  'POST /api/devices/:key/tunnel-status': declare("The device agent's report on a tunnel", S.tunnelReported, [R.deviceNotFound, R.tunnelNotFound, ...WRITE_REFUSALS]),
  'POST /api/devices/:key/authorize-tunnel': declare('Whether the device may open a tunnel now (a refusal is a 200 with ok: false)', S.tunnelAuthorization, [R.deviceNotFound]),

  'GET /api/ssh-keys': declare("A user's usable keys (AuthorizedKeysCommand)", S.sshKeys, [...CHECKED_IN_HANDLER, R.badPart, said(404, 'No keys for this user')]),
  'GET /api/ssh-keys/devices': declare("A user's device keys with their state", S.sshKeyDevices, [...CHECKED_IN_HANDLER, R.badPart]),
  'PUT /api/devices/:key/ssh-key': declare("Register a device's public key (revokes its others)", S.ok, [
    R.deviceNotFound,
    said(400, 'invalid ssh_public_key'),
    R.keyTaken,
    R.invalid,
    ...WRITE_REFUSALS,
  ]),
  'GET /api/devices/:key/ssh-key': declare('Not exposed (the document: 501)', {}, [said(501, 'Not implemented')]),
  'DELETE /api/devices/:key/ssh-key': declare('Not exposed (the document: 501)', {}, [said(501, 'Not implemented')]),
  'GET /api/users/authorized-keys': declare("The users' authorized_keys file (local callers only)", S.TEXT, [said(403, 'Local access only')]),
  'GET /api/devices/:key/private-ppk': declare('Refused: cced never holds a device private key', {}, [
    R.deviceNotFound,
    said(404, 'No private key: cced never stores device private keys; generate the key pair on the device and register its public key with PUT /api/devices/{device_key}/ssh-key'),
  ]),
  'GET /api/ssh-hostkey': declare("The embedded SSH server's host key, as ssh-keyscan prints it", S.TEXT, [
    said(404, 'The embedded SSH server is disabled (ssh_listen_address)'),
  ]),

  'POST /api/forcecommand/register_device_key': declare("Register a device's key for SSH", S.statusOk, [
    ...CHECKED_IN_HANDLER,
    R.badPart,
    said(400, 'invalid pubkey'),
    R.deviceNotFound,
    R.keyTaken,
    R.invalid,
    ...WRITE_REFUSALS,
  ]),
  'POST /api/forcecommand/validate_device_key': declare('Which device a public key belongs to', S.keyValid, [...CHECKED_IN_HANDLER, R.badPart, INVALID]),
  'GET /api/forcecommand/get_device_key': declare("A device's active public key (text)", S.TEXT, [...CHECKED_IN_HANDLER, R.badPart, NOT_FOUND, ...WRITE_REFUSALS]),
  'DELETE /api/forcecommand/remove_device_key': declare("Remove a device's keys", S.keysRemoved, [
    ...CHECKED_IN_HANDLER,
    R.badPart,
    said(400, 'device_key: missing'),
    ...WRITE_REFUSALS,
  ]),
};
