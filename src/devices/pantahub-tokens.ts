/**
 * Pantahub factory tokens (seed 004): an owner creates one, burns it into its
 * devices at the factory, and each device registering with it
 * (`Pantahub-Devices-Auto-Token-V1`) is owned at once by the token's owner with
 * the token's default user-meta. A token is a PantahubToken object of the
 * store; the token itself is 256 random bits shown only in the reply that
 * created it, and only its SHA-256 is kept (a high-entropy secret needs no
 * argon2). A token may be bounded in uses and in time; disabling it stops new
 * joins, the devices it joined keep working. Spending one runs inside the
 * registering write, so a bound of N uses joins exactly N devices however many
 * register at once.
 */
import { randomBytes } from 'node:crypto';
import { SYSTEM, type Store, type StoreTx } from '../store/store.js';
import type { Writer } from '../store/writer.js';
import { PantahubError } from '../errors.js';
import { digest, randomSecret } from '../auth/secrets.js';
import { MAX_DRAWS, PANTAHUB_ID, newNick } from './pantahub-words.js';

export const PANTAHUB_TOKEN = 'PantahubToken';

/** A factory token as the domain sees it (never the token). */
export interface FactoryToken {
  oid: number;
  id: string;
  owner: string;
  nick: string;
  defaultUserMeta: Record<string, unknown>;
  disabled: boolean;
  /** undefined: no bound. */
  maxUses: number | undefined;
  uses: number;
  /** RFC 3339, or undefined: never. */
  expiresAt: string | undefined;
  timeCreated: string;
  timeModified: string;
}

export interface NewFactoryToken {
  owner: string;
  nick?: string;
  defaultUserMeta?: Record<string, unknown>;
  maxUses?: number;
  expiresAt?: string;
}

const digestHex = (token: string) => digest(token).toString('hex');

async function readToken(store: Store, oid: number): Promise<FactoryToken> {
  const v = await store.rawValues(oid);
  return {
    oid,
    id: v.id!,
    owner: v.owner ?? '',
    nick: v.nick ?? '',
    defaultUserMeta: JSON.parse(v.default_user_meta || '{}') as Record<string, unknown>,
    disabled: v.disabled === '1',
    maxUses: v.max_uses ? Number(v.max_uses) : undefined,
    uses: Number(v.uses ?? '0'),
    expiresAt: v.expires_at || undefined,
    timeCreated: v.time_created ?? '',
    timeModified: v.time_modified ?? '',
  };
}

async function newTokenId(store: Store): Promise<string> {
  for (let i = 0; i < MAX_DRAWS; i++) {
    const id = randomBytes(12).toString('hex');
    if ((await store.findOne(PANTAHUB_TOKEN, '', 'id', id)) === undefined) return id;
  }
  /* c8 ignore next */
  throw new Error('could not draw an unused token id');
}

/** A new token of `t.owner`; answers it with the token, which nothing can show again. */
export function createFactoryToken(store: Store, writer: Writer, t: NewFactoryToken): Promise<{ token: string; created: FactoryToken }> {
  const token = randomSecret();
  return writer.submit(async (w) => {
    const tx = store.at(w);
    const now = new Date().toISOString();
    const oid = await tx.create(SYSTEM, PANTAHUB_TOKEN, {
      id: await newTokenId(tx),
      token_digest: digestHex(token),
      owner: t.owner,
      nick: t.nick ?? newNick(),
      default_user_meta: JSON.stringify(t.defaultUserMeta ?? {}),
      max_uses: t.maxUses === undefined ? '' : String(t.maxUses),
      expires_at: t.expiresAt ?? '',
      time_created: now,
      time_modified: now,
    });
    return { token, created: await readToken(tx, oid) };
  });
}

/** The owner's tokens, in creation order. */
export async function ownedTokens(store: Store, owner: string): Promise<FactoryToken[]> {
  return readTokens(store, await store.find(SYSTEM, PANTAHUB_TOKEN, { criteria: [{ ns: '', name: 'owner', op: '=', value: owner }] }));
}

async function readTokens(store: Store, oids: readonly number[]): Promise<FactoryToken[]> {
  const out: FactoryToken[] = [];
  for (const oid of oids) out.push(await readToken(store, oid));
  return out;
}

/** The owner disables its token `id` (again is no change); another owner's token is as unknown as a missing one. */
export function disableFactoryToken(store: Store, writer: Writer, owner: string, id: string): Promise<FactoryToken> {
  if (!PANTAHUB_ID.test(id)) throw new PantahubError('pantahub.bad-id');
  return writer.submit(async (w) => {
    const tx = store.at(w);
    const oid = await tx.findOne(PANTAHUB_TOKEN, '', 'id', id);
    if (oid === undefined || (await readToken(tx, oid)).owner !== owner) throw new PantahubError('pantahub.unknown-token');
    await tx.set(SYSTEM, oid, '', { disabled: '1', time_modified: new Date().toISOString() });
    return readToken(tx, oid);
  });
}

/**
 * Spends one use of the token a registering device sent (inside the
 * registering write): unknown, disabled, expired or used up is
 * `bad-auto-token`. Answers the token as it was before this use.
 */
export async function spendFactoryToken(store: StoreTx, token: string): Promise<FactoryToken> {
  const oid = await store.findOne(PANTAHUB_TOKEN, '', 'token_digest', digestHex(token));
  if (oid === undefined) throw new PantahubError('pantahub.bad-auto-token');
  const t = await readToken(store, oid);
  if (whyJoinsNoMore(t, Date.now()) !== undefined) throw new PantahubError('pantahub.bad-auto-token');
  await store.set(SYSTEM, oid, '', { uses: String(t.uses + 1) });
  return t;
}

/** Why a token can join no more devices (disabled, expired, used up), or undefined while it can. */
export function whyJoinsNoMore(t: FactoryToken, now: number): 'disabled' | 'expired' | 'used up' | undefined {
  if (t.disabled) return 'disabled';
  if (t.expiresAt !== undefined && Date.parse(t.expiresAt) <= now) return 'expired';
  if (t.maxUses !== undefined && t.uses >= t.maxUses) return 'used up';
  return undefined;
}

/** Every owner's tokens that can join no more devices, each with the reason (what `cced purge` removes). */
export async function spentFactoryTokens(store: Store, now: number): Promise<{ token: FactoryToken; why: string }[]> {
  return (await readTokens(store, await store.find(SYSTEM, PANTAHUB_TOKEN, { criteria: [] })))
    .flatMap((token) => {
      const why = whyJoinsNoMore(token, now);
      return why === undefined ? [] : [{ token, why }];
    });
}
