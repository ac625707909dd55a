/**
 * The Pantahub device registry's rules (seed 004), below any door: a Pantahub
 * device is a Device of the store whose device_key is its id in upper case,
 * with its Pantahub fields in the Device class's `Pantahub` namespace
 * (schema/DevicePantahub.json). Devices register themselves with a secret
 * (stored argon2id-hashed, shown only in the reply that set it) and show a
 * challenge; a user claims an unowned device with that challenge (single-use,
 * expiring; the writer runs one transaction at a time, so of two claims
 * exactly one wins). Nicks are unique per owner. The domain writes as SYSTEM
 * after checking its own rules; refusals are PANTAHUB_ERRORS.
 */
import { timingSafeEqual } from 'node:crypto';
import { SYSTEM, Hashed, type FindCriterion, type Store } from '../store/store.js';
import type { Writer } from '../store/writer.js';
import { PantahubError } from '../errors.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { DEVICE } from './classes.js';
import { newDeviceKey, newTokenCode } from './secrets.js';
import { MAX_DRAWS, PANTAHUB_ID, newChallenge, newNick } from './pantahub-words.js';
import { spendFactoryToken, type FactoryToken } from './pantahub-tokens.js';

export const PANTAHUB_NS = 'Pantahub';

/** A Pantahub device as the domain sees it (never its secret). */
export interface PantahubDevice {
  oid: number;
  id: string;
  /** The owning User's name; '' while unclaimed. */
  owner: string;
  nick: string;
  challenge: string;
  public: boolean;
  userMeta: Record<string, unknown>;
  deviceMeta: Record<string, unknown>;
  timeCreated: string;
  timeModified: string;
}

/** Who asks: a user (by name), a device acting as itself (its oid), or nobody. */
export interface PantahubCaller {
  user?: string;
  deviceOid?: number;
}

const meta = (text: string | undefined): Record<string, unknown> => JSON.parse(text || '{}') as Record<string, unknown>;

export async function readDevice(store: Store, oid: number): Promise<PantahubDevice> {
  const v = await store.rawValues(oid, PANTAHUB_NS);
  return {
    oid,
    id: v.id!,
    owner: v.owner ?? '',
    nick: v.nick ?? '',
    challenge: v.challenge ?? '',
    public: v.public === '1',
    userMeta: meta(v.user_meta),
    deviceMeta: meta(v.device_meta),
    timeCreated: v.time_created ?? '',
    timeModified: v.time_modified ?? '',
  };
}

/** The oid of the Pantahub device `id`; a malformed id is `bad-id`, an unknown one `unknown`. */
export async function requirePantahubDevice(store: Store, id: string): Promise<number> {
  if (!PANTAHUB_ID.test(id)) throw new PantahubError('pantahub.bad-id');
  const oid = await store.findOne(DEVICE, PANTAHUB_NS, 'id', id);
  if (oid === undefined) throw new PantahubError('pantahub.unknown');
  return oid;
}

/** The device, when the caller may see it (its owner, the device itself, or anyone for a public one); else the same 404 as an unknown id. */
export async function visibleDevice(store: Store, id: string, who: PantahubCaller): Promise<PantahubDevice> {
  const d = await readDevice(store, await requirePantahubDevice(store, id));
  const mine = (who.user !== undefined && d.owner === who.user) || who.deviceOid === d.oid;
  if (!mine && !d.public) throw new PantahubError('pantahub.unknown');
  return d;
}

/** Where a list of devices starts and how long it may be. */
export interface ListBounds {
  /** Devices in one page at most. */
  limit: number;
  /** Candidates examined at most (the store's scan bound). */
  maxScan: number;
  /** Continue after this oid (the `next` of the page before). */
  after?: number;
}

/** One page of a list, in creation order; `next` continues it when it was cut. */
export interface DevicePage {
  devices: PantahubDevice[];
  next?: number;
}

/** The devices a user owns, in creation order, one bounded page at a time. */
export async function ownedDevices(store: Store, user: string, bounds: ListBounds): Promise<DevicePage> {
  return devicePage(store, [{ ns: PANTAHUB_NS, name: 'owner', op: '=', value: user }], bounds);
}

/** Another owner's public devices, in creation order ('' owns nothing: unclaimed devices are nobody's to list). */
export async function publicDevices(store: Store, owner: string, bounds: ListBounds): Promise<DevicePage> {
  if (owner === '') return { devices: [] };
  return devicePage(store, [
    { ns: PANTAHUB_NS, name: 'owner', op: '=', value: owner },
    { ns: PANTAHUB_NS, name: 'public', op: '=', value: '1' },
  ], bounds);
}

/**
 * A page of matching devices. Each is read on its own: one indexed read of its
 * Pantahub namespace costs less than the store's batched read of every
 * namespace with the ACLs applied (getMany), measured on 10,000 devices.
 */
async function devicePage(store: Store, criteria: FindCriterion[], bounds: ListBounds): Promise<DevicePage> {
  const after = bounds.after === undefined ? undefined : { oid: bounds.after };
  const page = await store.findPage(SYSTEM, DEVICE, { criteria }, { limit: bounds.limit, maxScan: bounds.maxScan, ...(after ? { after } : {}) });
  // A search may yield between its slices: a device destroyed meanwhile is not listed.
  const devices: PantahubDevice[] = [];
  for (const oid of page.oids) if (await store.exists(oid)) devices.push(await readDevice(store, oid));
  if (!page.more) return { devices };
  const next = page.resume(page.oids.length);
  return { devices, ...('oid' in next ? { next: next.oid } : {}) };
}

async function nickTaken(store: Store, owner: string, nick: string, except: number): Promise<boolean> {
  if (owner === '') return false;
  // One indexed look-up, not the owner's whole list (an owner may have 10,000 devices).
  const criteria = [
    { ns: PANTAHUB_NS, name: 'owner', op: '=' as const, value: owner },
    { ns: PANTAHUB_NS, name: 'nick', op: '=' as const, value: nick },
  ];
  return (await store.find(SYSTEM, DEVICE, { criteria })).some((oid) => oid !== except);
}

/** A nick none of the owner's other devices has. */
async function freshNick(store: Store, owner: string, except: number): Promise<string> {
  for (let i = 0; i < MAX_DRAWS; i++) {
    const nick = newNick();
    if (!(await nickTaken(store, owner, nick, except))) return nick;
  }
  /* c8 ignore next */
  throw new PantahubError('pantahub.nick-taken');
}

export interface Registration {
  /** The owner when a logged-in user registers it; absent for self-registration. */
  owner?: string;
  /** A factory token (Pantahub-Devices-Auto-Token-V1): its owner owns the device, with its default user-meta. Wins over `owner`. */
  autoToken?: string;
  secret: string;
  deviceMeta?: Record<string, unknown>;
}

/**
 * A new device. Self-registered: unowned, with a challenge valid `challengeTtlMs`.
 * Registered by a user or with a factory token: owned at once, no challenge;
 * `token` is the factory token it joined with (as it was before this use).
 */
export async function registerDevice(store: Store, writer: Writer, r: Registration, challengeTtlMs: number): Promise<{ device: PantahubDevice; token?: FactoryToken }> {
  // argon2 before the transaction: a transaction awaits only its own reads and writes.
  const hash = await hashPassword(r.secret);
  return writer.submit(async (w) => {
    const tx = store.at(w);
    // The token's use is spent in the same write as the device is created: a bound of N uses joins N devices.
    const token = r.autoToken === undefined ? undefined : await spendFactoryToken(tx, r.autoToken);
    const key = await newDeviceKey(tx);
    const oid = await tx.create(SYSTEM, DEVICE, { device_key: key, token_code: newTokenCode() });
    const now = new Date();
    const owner = token?.owner ?? r.owner ?? '';
    await tx.set(SYSTEM, oid, PANTAHUB_NS, {
      id: key.toLowerCase(),
      secret: new Hashed(hash),
      ...freshChallenge(owner, now, challengeTtlMs),
      owner,
      nick: await freshNick(tx, owner, oid),
      user_meta: JSON.stringify(token?.defaultUserMeta ?? {}),
      device_meta: JSON.stringify(r.deviceMeta ?? {}),
      time_created: now.toISOString(),
      time_modified: now.toISOString(),
    });
    return { device: await readDevice(tx, oid), ...(token ? { token } : {}) };
  });
}

/** A challenge valid `ttlMs` from `now` for an unowned device; none for an owned one. */
function freshChallenge(owner: string, now: Date, ttlMs: number): { challenge: string; challenge_expires: string } {
  if (owner !== '') return { challenge: '', challenge_expires: '' };
  return { challenge: newChallenge(), challenge_expires: new Date(now.getTime() + ttlMs).toISOString() };
}

/**
 * The unowned device, logged in as itself, draws a new challenge valid
 * `challengeTtlMs` (the old one stops working): what it does when its
 * challenge expired before its user claimed it. An owned device has none: `claimed`.
 */
export function refreshChallenge(store: Store, writer: Writer, id: string, who: PantahubCaller, challengeTtlMs: number): Promise<PantahubDevice> {
  return change(store, writer, id, who, (d) => {
    if (d.owner !== '') throw new PantahubError('pantahub.claimed');
    return freshChallenge('', new Date(), challengeTtlMs);
  }, true);
}

const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * `user` claims the unowned device `id` with its challenge. A wrong, used or
 * expired challenge, or an owned device, is `bad-challenge`; an unknown id `unknown`.
 */
export function claimDevice(store: Store, writer: Writer, id: string, user: string, challenge: string): Promise<PantahubDevice> {
  return writer.submit(async (w) => {
    const tx = store.at(w);
    const oid = await requirePantahubDevice(tx, id);
    const v = await tx.rawValues(oid, PANTAHUB_NS);
    const stored = v.challenge ?? '';
    const expired = (v.challenge_expires ?? '') !== '' && Date.parse(v.challenge_expires!) <= Date.now();
    if (v.owner !== '' || stored === '' || expired || !sameText(stored, challenge)) throw new PantahubError('pantahub.bad-challenge');
    const nick = (await nickTaken(tx, user, v.nick ?? '', oid)) ? await freshNick(tx, user, oid) : v.nick;
    // The claim itself is one conditional update (owner '' -> user): of claims racing on any node, one wins.
    if (!(await w.objects.compareAndSet(oid, PANTAHUB_NS, 'owner', DEVICE, '', user))) throw new PantahubError('pantahub.bad-challenge');
    await tx.set(SYSTEM, oid, PANTAHUB_NS, { owner: user, challenge: '', challenge_expires: '', nick, time_modified: new Date().toISOString() });
    return readDevice(tx, oid);
  });
}

/** The device whose `prn:::devices:/<id>` and secret these are, or undefined (the same time spent either way). */
export async function deviceLogin(store: Store, id: string, secret: string): Promise<PantahubDevice | undefined> {
  const oid = PANTAHUB_ID.test(id) ? await store.findOne(DEVICE, PANTAHUB_NS, 'id', id) : undefined;
  const hash = oid === undefined ? undefined : await store.credential(oid, 'secret');
  const ok = await verifyPassword(hash, secret);
  return ok && oid !== undefined && (await store.exists(oid)) ? readDevice(store, oid) : undefined;
}

/** The device `id` when `who` may change it: its owner (a user), or the device itself with `self`. */
async function changeable(store: Store, id: string, who: PantahubCaller, self = false): Promise<PantahubDevice> {
  const d = await visibleDevice(store, id, who);
  const allowed = self ? who.deviceOid === d.oid : who.user !== undefined && d.owner === who.user;
  if (!allowed) throw new PantahubError('pantahub.not-owner');
  return d;
}

/** Writes Pantahub fields of a device `who` may change, in one transaction; answers the device after. */
function change(
  store: Store,
  writer: Writer,
  id: string,
  who: PantahubCaller,
  values: (d: PantahubDevice, tx: Store) => Record<string, unknown> | Promise<Record<string, unknown>>,
  self = false,
): Promise<PantahubDevice> {
  return writer.submit(async (w) => {
    const tx = store.at(w);
    const d = await changeable(tx, id, who, self);
    await tx.set(SYSTEM, d.oid, PANTAHUB_NS, { ...(await values(d, tx)), time_modified: new Date().toISOString() });
    return readDevice(tx, d.oid);
  });
}

/** The owner renames a device; a nick another of its devices has is `nick-taken`. */
export function renameDevice(store: Store, writer: Writer, id: string, who: PantahubCaller, nick: string): Promise<PantahubDevice> {
  return change(store, writer, id, who, async (d, tx) => {
    if (await nickTaken(tx, d.owner, nick, d.oid)) throw new PantahubError('pantahub.nick-taken');
    return { nick };
  });
}

/** The owner makes a device public, or private again. */
export function setPublic(store: Store, writer: Writer, id: string, who: PantahubCaller, value: boolean): Promise<PantahubDevice> {
  return change(store, writer, id, who, () => ({ public: value ? '1' : '0' }));
}

/** The owner gives a device a new secret (hashed before the transaction). */
export async function setSecret(store: Store, writer: Writer, id: string, who: PantahubCaller, secret: string): Promise<PantahubDevice> {
  await changeable(store, id, who);
  const hash = await hashPassword(secret);
  return change(store, writer, id, who, () => ({ secret: new Hashed(hash) }));
}

export type MetaKind = 'user' | 'device';

/**
 * Replaces (`merge` false) or merges into (`merge` true: a null value removes
 * its key) a device's user-meta (its owner) or device-meta (the device itself).
 */
export async function setMeta(store: Store, writer: Writer, id: string, who: PantahubCaller, kind: MetaKind, given: Record<string, unknown>, merge: boolean): Promise<Record<string, unknown>> {
  let out: Record<string, unknown> = {};
  await change(
    store, writer, id, who,
    (d) => {
      const next: Record<string, unknown> = merge ? { ...(kind === 'user' ? d.userMeta : d.deviceMeta), ...given } : { ...given };
      for (const [k, v] of Object.entries(next)) if (v === null && merge) delete next[k];
      out = next;
      return { [`${kind}_meta`]: JSON.stringify(next) };
    },
    kind === 'device',
  );
  return out;
}

/** The owner deletes a device (the Device object and everything that cascades from it). */
export function deleteDevice(store: Store, writer: Writer, id: string, who: PantahubCaller): Promise<PantahubDevice> {
  return writer.submit(async (w) => {
    const tx = store.at(w);
    const d = await changeable(tx, id, who);
    await tx.destroy(SYSTEM, d.oid);
    return d;
  });
}
