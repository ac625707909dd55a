/**
 * /devices: the caller's list and another owner's public devices, one
 * device, and what its owner (or, for device-meta, the device itself)
 * changes. The rules are the domain's (src/devices/pantahub.ts); here only
 * the seed's shapes. Registration and claims: registration.ts.
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from '../kit/router.js';
import { deleteDevice, ownedDevices, publicDevices, renameDevice, setMeta, setPublic, setSecret, visibleDevice, type DevicePage, type MetaKind } from '../../devices/pantahub.js';
import { pantahubCaller, userOf } from './caller.js';
import { PantahubReply, presentDevice } from './replies.js';
import { guardedClaim } from '../../devices/pantahub-claims.js';
import { DEVICE_ERRORS, deviceReply, idParams, meta, metaReply, nick, pantahubDoc, secret } from './schemas.js';

const OWNER_PRN = 'prn:pantahub.com:auth:/';

// Only the documented filters: any other key is a 400, never a filter.
const listQuery = z
  .strictObject({
    owner: z.string().min(1).max(160).optional().describe(`List this owner's public devices: ${OWNER_PRN}<user>`),
    'owner-nick': z.string().min(1).max(128).optional().describe("List this owner's public devices: the user's name"),
    limit: z.coerce.number().int().min(1).max(1e9).optional().describe('Devices in one reply at most (at most max_results, its default)'),
    after: z.string().regex(/^[1-9][0-9]{0,15}$/, 'a cursor from a Link header').transform(Number).optional().describe('Continue a cut list: the cursor of the Link rel="next" header'),
  })
  .refine((q) => q.owner === undefined || q['owner-nick'] === undefined, 'give owner or owner-nick, not both');

const claimQuery = z.strictObject({ challenge: z.string().min(1).max(64).optional().describe('The challenge the device showed: claims it') });
const secretBody = z.object({ secret: secret.optional() }).optional();
const nickBody = z.object({ nick });

const PUT_ERRORS = {
  ...DEVICE_ERRORS,
  400: 'Invalid device id, no secret to set, or a query or body that does not match its schema',
  403: "The challenge is wrong, used or expired, or the device is owned (a claim); another user's public device (an update)",
  429: 'Claims of this device from this address, or from everywhere, failed too often (Retry-After)',
};
const CHANGE_ERRORS = { ...DEVICE_ERRORS, 403: "A device the caller may see but not change (another user's public device)" };

export function deviceRoutes(route: Router, s: Services): void {
  const { store, writer } = s;

  for (const url of ['/devices', '/devices/']) {
    const doc = pantahubDoc("The caller's devices; with owner or owner-nick, that owner's public devices. At most max_results (or limit) a reply: a cut list has a Link rel=\"next\" header to continue it", z.array(deviceReply), {
      400: 'A query key other than owner, owner-nick, limit and after; owner and owner-nick both; a bad limit or after',
      403: "A device's token without owner or owner-nick (a device owns nothing)",
    });
    route('GET', url, { access: 'pantahub-token', query: listQuery, doc }, async ({ req, reply, who, query }) => {
      const asked = query['owner-nick'] ?? query.owner;
      const bounds = { limit: Math.min(query.limit ?? Infinity, s.config.max_results), maxScan: s.config.max_scan_rows, ...(query.after ? { after: query.after } : {}) };
      let page: DevicePage;
      if (asked === undefined) {
        // A device owns nothing: its own list is not a thing it may ask for.
        if (who.deviceOid !== undefined) throw new PantahubReply(403, 'Forbidden');
        page = await ownedDevices(store, userOf(who), bounds);
      } else {
        const owner = query.owner === undefined ? asked : asked.startsWith(OWNER_PRN) ? asked.slice(OWNER_PRN.length) : '';
        page = await publicDevices(store, owner, bounds);
      }
      if (page.next !== undefined) reply.header('link', nextLink(req.url, page.next));
      return page.devices.map((d) => presentDevice(d));
    });
  }

  const getDoc = pantahubDoc('One device: its owner, the device itself (with its challenge), anyone for a public device', deviceReply, DEVICE_ERRORS);
  route('GET', '/devices/:id', { access: 'pantahub-optional', door: 'device', params: idParams, doc: getDoc }, async ({ who: principal, params }) => {
    const who = pantahubCaller(principal);
    const d = await visibleDevice(store, params.id, who);
    // The device itself reads its challenge, to show its user.
    return presentDevice(d, who.deviceOid === d.oid);
  });

  // With a challenge: a claim (body ignored). Without: the owner's update (a new secret, shown in this reply only).
  const putDoc = pantahubDoc('Claim the device with ?challenge=, or (its owner) give it a new secret', deviceReply, PUT_ERRORS);
  route('PUT', '/devices/:id', { access: 'pantahub-user', params: idParams, query: claimQuery, body: secretBody, doc: putDoc }, async ({ req, who, params, query, body }) => {
    const user = userOf(who);
    if (query.challenge !== undefined) return presentDevice(await guardedClaim({ ...s, bans: s.auth.bans, limits: s.pantahubLimits }, { ip: req.ip, log: req.log }, params.id, user, query.challenge), true);
    if (body?.secret === undefined) throw new PantahubReply(400, 'Nothing to update');
    return { ...presentDevice(await setSecret(store, writer, params.id, { user }, body.secret)), secret: body.secret };
  });

  for (const url of ['/devices/:id', '/devices/:id/']) {
    const doc = pantahubDoc('Its owner renames the device', deviceReply, { ...CHANGE_ERRORS, 409: 'Another of the owner\'s devices has this nick: {"Error":"Device unique constraint violated"}' });
    route('PATCH', url, { access: 'pantahub-user', params: idParams, body: nickBody, doc }, async ({ who, params, body }) =>
      presentDevice(await renameDevice(store, writer, params.id, { user: userOf(who) }, body.nick)),
    );
  }

  const deleteDoc = pantahubDoc('Its owner deletes the device (the Device object); the reply is the device as it was', deviceReply, CHANGE_ERRORS);
  route('DELETE', '/devices/:id', { access: 'pantahub-user', params: idParams, doc: deleteDoc }, async ({ who, params }) =>
    presentDevice(await deleteDevice(store, writer, params.id, { user: userOf(who) })),
  );

  for (const [method, value] of [['PUT', true], ['DELETE', false]] as const) {
    const doc = pantahubDoc(`Its owner makes the device ${value ? 'public' : 'private'}`, deviceReply, CHANGE_ERRORS);
    route(method, '/devices/:id/public', { access: 'pantahub-user', params: idParams, doc }, async ({ who, params }) =>
      presentDevice(await setPublic(store, writer, params.id, { user: userOf(who) }, value)),
    );
  }

  const userMetaDoc = pantahubDoc("Its owner reads the device's user-meta", metaReply, CHANGE_ERRORS);
  route('GET', '/devices/:id/user-meta', { access: 'pantahub-user', params: idParams, doc: userMetaDoc }, async ({ who, params }) => {
    const user = userOf(who);
    const d = await visibleDevice(store, params.id, { user });
    if (d.owner !== user) throw new PantahubReply(403, 'Forbidden');
    return d.userMeta;
  });

  // user-meta: the owner; device-meta: the device itself (its own token). PUT replaces, PATCH merges (null removes a key).
  for (const kind of ['user', 'device'] as const satisfies readonly MetaKind[]) {
    for (const method of ['PUT', 'PATCH'] as const) {
      const who = kind === 'user' ? 'Its owner' : 'The device itself';
      const doc = pantahubDoc(`${who} ${method === 'PUT' ? 'replaces' : 'merges into (null removes a key)'} the ${kind}-meta; the reply is the ${kind}-meta after`, metaReply, {
        ...DEVICE_ERRORS,
        403: kind === 'user' ? "Another user's public device" : "Another device's token, or a user's",
      });
      route(method, `/devices/:id/${kind}-meta`, { access: kind === 'user' ? 'pantahub-user' : 'pantahub-device', ...(kind === 'device' ? { door: 'device' as const } : {}), params: idParams, body: meta, doc }, async ({ who, params, body }) => {
        const caller = pantahubCaller(who);
        return setMeta(store, writer, params.id, caller, kind, body, method === 'PATCH');
      });
    }
  }
}

/** The request's own URL with `after` set to the cursor: where a cut list goes on (RFC 8288). */
function nextLink(url: string, after: number): string {
  const u = new URL(url, 'http://x');
  u.searchParams.set('after', String(after));
  return `<${u.pathname}${u.search}>; rel="next"`;
}
