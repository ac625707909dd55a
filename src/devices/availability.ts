/**
 * Whether a device is connected, computed at read time from its last_seen and
 * `device_heartbeat_timeout`, never stored: available while its last beat is
 * at most that old, disconnected after. Heartbeats (heartbeats.ts) record the
 * Connected event that opens each available streak.
 */
import type { Services } from '../services.js';
import type { AclSubject } from '../schema/types.js';

/** Stored last_seen (ISO) to ms, or undefined when the device never beat. */
export const seenAt = (iso: string | undefined) => (iso ? Date.parse(iso) : undefined);

export interface Availability {
  available: boolean;
  /** The last heartbeat, ms. */
  lastHeartbeat: number;
  /** Available since the Connected event that opened this streak; disconnected since the last beat (ms). */
  since: number;
  /** Whole seconds since the last heartbeat. */
  age: number;
}

/** The device's availability as `subject` may read it; undefined when it never beat. */
export async function availabilityOf(s: Pick<Services, 'store' | 'events' | 'config'>, subject: AclSubject, oid: number, now: number): Promise<Availability | undefined> {
  const at = seenAt((await s.store.get(subject, oid)).values.last_seen);
  if (at === undefined) return undefined;
  const age = Math.max(0, Math.floor((now - at) / 1000));
  const available = age <= s.config.device_heartbeat_timeout;
  const opened = available ? await s.events.latest(oid) : undefined;
  return { available, lastHeartbeat: at, since: opened?.at ?? at, age };
}
