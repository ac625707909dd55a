/**
 * Audit lines of credentials: every AUTH / AUTHKEY / LOGIN / BYE / ENDKEY (and a
 * WHOAMI with a password), and every failed claim at any door (REST login,
 * device token, SSH key, SSH token): the address, the claimed identity and the
 * outcome, never a password, secret, token or session id. A failed claim also
 * counts toward a ban (src/auth/bans.ts).
 */
import type { BaseLogger } from 'pino';
import type { Bans } from './bans.js';
import { claim, type Claim, type CredentialKind } from './claims.js';

/** What an audit line needs of a command's context, typed here: the gate serves every door and knows nothing of the dispatcher. */
export interface AuditContext {
  readonly log: Pick<BaseLogger, 'info'>;
  readonly ip: string;
  readonly auth: { readonly bans: Pick<Bans, 'failed'> };
}

export type AuditedVerb = 'AUTH' | 'AUTHKEY' | 'LOGIN' | 'BYE' | 'ENDKEY' | 'WHOAMI';
/** `none`: nothing to end (BYE without a token). */
export type AuditOutcome = 'ok' | 'fail' | 'none';

/** The credential kind each counted verb checks (AUTH's and WHOAMI's passwords: src/auth/password-guess.ts). */
const KIND_OF: Partial<Record<AuditedVerb, CredentialKind>> = { AUTHKEY: 'session', LOGIN: 'client-secret' };

/** The claim a verb makes for `user` (undefined for a verb that checks no credential). */
export function verbClaim(ctx: Pick<AuditContext, 'ip'>, verb: AuditedVerb, user: string): Claim | undefined {
  const kind = KIND_OF[verb];
  return kind === undefined ? undefined : claim(kind, ctx.ip, user);
}

export async function auditAuth(ctx: AuditContext, verb: AuditedVerb, user: string, outcome: AuditOutcome): Promise<void> {
  // The name is the client's input: bounded so a log line stays a log line.
  ctx.log.info({ audit: verb, user: user.slice(0, 128), ip: ctx.ip, outcome }, `${verb} ${outcome}`);
  const c = verbClaim(ctx, verb, user);
  if (outcome === 'fail' && c) await ctx.auth.bans.failed(c);
}

/**
 * One failed claim outside the command protocol: an audit line named `audit`
 * with the address and the identity (as `identityField`), counted at once;
 * resolves once counted (never rejects), which a door awaits before it refuses.
 */
export function auditFailedClaim(log: Pick<BaseLogger, 'info'>, bans: Bans, audit: string, c: Claim, identityField = 'user'): Promise<void> {
  log.info({ audit, [identityField]: c.identity, ip: c.ip, outcome: 'fail' }, 'credential refused');
  return bans.count(c);
}
