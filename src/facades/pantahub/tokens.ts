/**
 * /devices/tokens: an owner's factory tokens (src/devices/pantahub-tokens.ts).
 * POST answers the token once; GET lists them without it; DELETE disables one
 * (the devices it joined keep working). Users only.
 */
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from '../kit/router.js';
import { createFactoryToken, disableFactoryToken, ownedTokens, type FactoryToken } from '../../devices/pantahub-tokens.js';
import { userOf } from './caller.js';
import { PantahubReply, ownerPrn } from './replies.js';
import { idParams, meta, nick, pantahubDoc, statusReply, tokenReply } from './schemas.js';

const createBody = z
  .strictObject({
    'default-user-meta': meta.optional(),
    nick: nick.optional(),
    'max-uses': z.number().int().min(1).max(1e9).optional().describe('How many devices it may join; absent: no bound'),
    'expires-at': z.iso.datetime({ offset: true }).optional().describe('RFC 3339: after this it joins no more devices; absent: never'),
  })
  .optional()
  .transform((b) => b ?? {});

/** A token in the seed's fields, and the bounds it may carry (never the token). */
function presentToken(t: FactoryToken): Record<string, unknown> {
  return {
    'default-user-meta': t.defaultUserMeta,
    disabled: t.disabled,
    'expires-at': t.expiresAt ?? null,
    id: t.id,
    'max-uses': t.maxUses ?? null,
    nick: t.nick,
    owner: ownerPrn(t.owner),
    prn: `prn:::devices-tokens:/${t.id}`,
    'time-created': t.timeCreated,
    'time-modified': t.timeModified,
    uses: t.uses,
  };
}

export function tokenRoutes(route: Router, s: Services): void {
  const { store, writer } = s;

  for (const url of ['/devices/tokens', '/devices/tokens/']) {
    const createDoc = pantahubDoc('Create a factory token; the reply is the only one that shows it', tokenReply, { 400: 'A body that does not match its schema (an expires-at in the past too)' });
    route('POST', url, { access: 'pantahub-user', body: createBody, doc: createDoc }, async ({ req, who, body }) => {
      const owner = userOf(who);
      const expiresAt = body['expires-at'] === undefined ? undefined : new Date(body['expires-at']);
      if (expiresAt !== undefined && expiresAt.getTime() <= Date.now()) throw new PantahubReply(400, 'expires-at: in the past');
      const { token, created } = await createFactoryToken(store, writer, {
        owner,
        ...(body.nick !== undefined ? { nick: body.nick } : {}),
        ...(body['default-user-meta'] !== undefined ? { defaultUserMeta: body['default-user-meta'] } : {}),
        ...(body['max-uses'] !== undefined ? { maxUses: body['max-uses'] } : {}),
        ...(expiresAt !== undefined ? { expiresAt: expiresAt.toISOString() } : {}),
      });
      req.log.info({ audit: 'PANTAHUB_TOKEN', token_id: created.id, owner, ip: req.ip, outcome: 'created' }, 'factory token created');
      return { ...presentToken(created), token };
    });

    const listDoc = pantahubDoc("The caller's factory tokens, never the tokens themselves", z.array(tokenReply));
    route('GET', url, { access: 'pantahub-user', doc: listDoc }, async ({ who }) => (await ownedTokens(store, userOf(who))).map(presentToken));
  }

  const deleteDoc = pantahubDoc('Disable a factory token: it joins no more devices, those it joined keep working', statusReply, {
    400: 'Invalid token id (not 24 lowercase hex)',
    404: 'No token with this id that the caller owns',
  });
  route('DELETE', '/devices/tokens/:id', { access: 'pantahub-user', params: idParams, doc: deleteDoc }, async ({ req, who, params }) => {
    const owner = userOf(who);
    const t = await disableFactoryToken(store, writer, owner, params.id);
    req.log.info({ audit: 'PANTAHUB_TOKEN', token_id: t.id, owner, ip: req.ip, outcome: 'disabled' }, 'factory token disabled');
    return { status: 'OK' };
  });
}
