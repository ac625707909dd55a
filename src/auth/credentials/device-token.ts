/**
 * A device: its key (the path names it) and `X-Device-Token: <token_code>`,
 * compared in constant time. Unknown, revoked or wrong: the same 403 (no
 * oracle on which keys exist), audited and counted toward a ban of (address,
 * device key) and of the address. A device acts as itself: its subject's oid
 * is the device's, so `ruleSelf` in schema/Device.json says what it may write.
 */
import { timingSafeEqual } from 'node:crypto';
import { digest } from '../secrets.js';
import { claim, MIN_TOKEN_LENGTH } from '../claims.js';
import { auditFailedClaim } from '../audit.js';
import type { StrategyDef } from './deps.js';
import { CredentialRefused, headerOf } from './types.js';

export const DEVICE_TOKEN_HEADER = 'x-device-token';
/** The longest token_code the schema accepts (schema/Device.json, device_token). */
const MAX_DEVICE_TOKEN = 128;

export const deviceToken: StrategyDef = {
  name: 'device-token',
  headers: [DEVICE_TOKEN_HEADER],
  fields: [],
  create: ({ auth, devices }) => async (req) => {
    const token = headerOf(req.headers, DEVICE_TOKEN_HEADER);
    if (req.deviceKey === undefined || token === undefined || token === '') return undefined;
    const key = req.deviceKey;
    const claimed = claim('device-token', req.ip, key);
    auth.bans.refuse(claimed);
    // A token shorter than the minimum is never compared (nor looked up): no stored token can match it.
    const c = token.length >= MIN_TOKEN_LENGTH && token.length <= MAX_DEVICE_TOKEN ? await devices.current?.lookup(key) : undefined;
    const matches = c?.tokenDigest !== undefined && timingSafeEqual(digest(token), c.tokenDigest);
    if (!c || !matches || c.revoked) {
      await auditFailedClaim(req.log, auth.bans, 'DEVICE_TOKEN', claimed, 'device_key');
      throw new CredentialRefused(403, 'Invalid device credentials');
    }
    return { subject: { oid: c.oid, admin: false, capabilities: [] }, label: `device:${key}`, deviceOid: c.oid, via: 'device-token' };
  },
};
