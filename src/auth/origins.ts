/**
 * The origin policy: which class of address may reach which door, in one
 * table, enforced by the gate before any route runs (src/http/server.ts).
 *
 * Origin classes (src/auth/gate.ts decides, first match wins):
 * - `local`: `local_addresses` (127.0.0.1, ::1 by default)
 * - `remote`: inside an `api_access` entry (whitelisted automation and admins)
 * - `device`: inside a `device_access` entry (devices in the field): the device paths only
 *
 * Doors (each route declares its own; src/facades/kit/router.ts, src/http/cce-route.ts):
 * - `cce`: POST /v2/cce (AUTH/AUTHKEY local only, LOGIN remote only: the dispatcher's own rule)
 * - `people`: the REST paths of people and the SSH-side callers (bearer tokens, OIDC, SSH token)
 * - `password-login`: POST /api/auth/login; from `remote` only with `rest_login_remote` and the
 *   entry's X-Client-Secret (checked at the door, src/facades/meeting/auth-routes.ts)
 * - `device`: the paths a device calls with its X-Device-Token (heartbeats, firmware, tunnels)
 *
 * An address of no class is refused everywhere (403), as it always was.
 */
export type OriginClass = 'local' | 'remote' | 'device';
export type DoorClass = 'cce' | 'people' | 'password-login' | 'device';

export const ORIGIN_POLICY: { readonly [D in DoorClass]: readonly OriginClass[] } = {
  cce: ['local', 'remote'],
  people: ['local', 'remote'],
  'password-login': ['local', 'remote'],
  device: ['local', 'remote', 'device'],
};

/** May an address of this class reach this door? A route that names no door is a `people` door. */
export function originAllowed(door: DoorClass | undefined, origin: OriginClass): boolean {
  return ORIGIN_POLICY[door ?? 'people'].includes(origin);
}
