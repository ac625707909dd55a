import { Refusal, permissionDenied } from '../src/errors.js';
import { none } from '../src/dispatch/args.js';
import type { ReadCommand } from '../src/dispatch/types.js';
import { auditAuth } from '../src/auth/audit.js';
import { API_ADMIN_NAME } from '../src/auth/auth.js';
import { clientSecretOf } from '../src/auth/client-secrets.js';
import { isoWithOffset } from '../src/auth/time.js';

/**
 * LOGIN with header X-Client-Secret (whitelisted remote callers only): the secret
 * of the api_access entry holding the caller buys a token for api-admin, valid
 * token_lifetime seconds or until BYE. A wrong or missing secret is HTTP 401
 * `Unauthorized: invalid client secret` and counts toward a ban. While api-admin
 * is disabled no token is issued: 304 PERMISSION DENIED (HTTP 403).
 */
export const LOGIN: ReadCommand<void> = {
  verb: 'LOGIN',
  kind: 'read',
  access: 'remote',
  parse: none,
  async run(ctx) {
    const entry = ctx.auth.clients.match(ctx.ip, clientSecretOf(ctx.headers));
    if (entry === undefined) {
      await auditAuth(ctx, 'LOGIN', API_ADMIN_NAME, 'fail');
      throw new Refusal('client-secret');
    }
    if (!await ctx.auth.apiAdminEnabled()) {
      // The right secret, so no ban; but no token for an identity that cannot act.
      ctx.log.info({ audit: 'LOGIN', user: API_ADMIN_NAME, ip: ctx.ip, outcome: 'refused', why: 'api-admin disabled' }, 'LOGIN refused');
      throw permissionDenied('LOGIN: api-admin is disabled');
    }
    const { secret, grant, saved } = await ctx.auth.startToken(entry.entry);
    // Handed out only once stored: a restart right after the reply keeps it.
    await saved;
    await auditAuth(ctx, 'LOGIN', API_ADMIN_NAME, 'ok');
    return { status: 201, message: 'TOKEN ISSUED', data: { expires: isoWithOffset(grant.expires), token: secret } };
  },
};
