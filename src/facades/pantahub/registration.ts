/**
 * How a device comes to be and to be owned: POST /devices/ (self-registration,
 * by a logged-in user, or with a factory token), the claim with the
 * challenge, and a device refreshing its own challenge. Anonymous
 * registrations and failed claims are rate-limited below this door
 * (src/devices/pantahub-claims.ts).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { Router } from '../kit/router.js';
import { refreshChallenge, registerDevice, type PantahubDevice } from '../../devices/pantahub.js';
import { anonymousRegistration } from '../../devices/pantahub-claims.js';
import { PantahubError } from '../../errors.js';
import { pantahubCaller } from './caller.js';
import { presentDevice } from './replies.js';
import { DEVICE_ERRORS, deviceReply, idParams, meta, pantahubDoc, secret } from './schemas.js';

/** The factory token header of the seed. */
export const AUTO_TOKEN_HEADER = 'pantahub-devices-auto-token-v1';

const registerBody = z
  .object({ secret: secret.optional(), 'device-meta': meta.optional() })
  .optional()
  .transform((b) => b ?? {});

const autoToken = z.string().min(1).max(256);

const REGISTER_ERRORS = {
  403: 'The Pantahub-Devices-Auto-Token-V1 token is unknown, disabled, expired or used up (no device is created)',
  429: 'Too many anonymous registrations from this address this hour (Retry-After)',
};

export function registrationRoutes(route: Router, s: Services): void {
  const { store, writer } = s;
  const ttlMs = () => s.config.pantahub_challenge_ttl * 1000;

  for (const url of ['/devices', '/devices/']) {
    const doc = pantahubDoc('Register a device: anonymous (a challenge for its user), by a user (owned at once), or with Pantahub-Devices-Auto-Token-V1 (owned by the token\'s owner)', deviceReply, REGISTER_ERRORS);
    route('POST', url, { access: 'pantahub-optional', door: 'device', body: registerBody, doc }, async ({ req, who: principal, body }) => {
      const sent = req.headers[AUTO_TOKEN_HEADER];
      const token = sent === undefined ? undefined : parseToken(req, sent);
      const who = token === undefined ? pantahubCaller(principal) : {};
      if (token === undefined && who.user === undefined) await anonymousRegistration(s.pantahubLimits, req.ip);
      // A device chose no secret: one is drawn for it, shown in this reply only.
      const chosen = body.secret ?? randomBytes(12).toString('base64url');
      const registration = { secret: chosen, ...(token !== undefined ? { autoToken: token } : who.user !== undefined ? { owner: who.user } : {}), ...(body['device-meta'] ? { deviceMeta: body['device-meta'] } : {}) };
      const done = await registerDevice(store, writer, registration, ttlMs()).catch((err: unknown) => {
        if (err instanceof PantahubError && err.code === 'pantahub.bad-auto-token') auditToken(req, 'fail');
        throw err;
      });
      if (done.token) auditToken(req, 'ok', done.token.id, done.device);
      // The seed's auto-assigned device shows no challenge; a registration's reply otherwise does.
      return { ...presentDevice(done.device, done.token === undefined), secret: chosen };
    });
  }

  route(
    'POST',
    '/devices/:id/challenge',
    {
      access: 'pantahub-device',
      door: 'device',
      params: idParams,
      doc: pantahubDoc('The unowned device draws a new challenge (the old one stops working): after its challenge expired', deviceReply, { ...DEVICE_ERRORS, 409: 'The device is owned: it has no challenge' }),
    },
    async ({ who, params }) => {
      const d = await refreshChallenge(store, writer, params.id, pantahubCaller(who), ttlMs());
      await s.pantahubLimits.challengeRefreshed(d.id);
      return presentDevice(d, true);
    },
  );
}

/** One header value (a repeated header is a client's mistake, not a 500); a malformed one is a refused use, audited. */
function parseToken(req: FastifyRequest, sent: string | string[]): string {
  const r = autoToken.safeParse(sent);
  if (r.success) return r.data;
  auditToken(req, 'fail');
  throw new PantahubError('pantahub.bad-auto-token');
}

/** One line per use of a factory token, success or refusal: the token's id, never the token. */
function auditToken(req: FastifyRequest, outcome: 'ok' | 'fail', tokenId?: string, d?: PantahubDevice): void {
  const fields = outcome === 'ok' ? { token_id: tokenId, owner: d!.owner, device: d!.id } : {};
  req.log.info({ audit: 'PANTAHUB_AUTO_TOKEN', ...fields, ip: req.ip, outcome }, outcome === 'ok' ? 'device joined with a factory token' : 'factory token refused');
}

