/**
 * The audit line of every AUTH / AUTHKEY / LOGIN / BYE / ENDKEY (and of a WHOAMI
 * with a password): source IP, user and outcome, never a password, secret,
 * token or session id. A failed AUTH, AUTHKEY, LOGIN or password WHOAMI also
 * counts toward a ban of the source IP.
 */
import type { BaseLogger } from 'pino';
import type { Bans } from './bans.js';

/** What an audit line needs of a command's context, typed here: the gate serves every door and knows nothing of the dispatcher. */
export interface AuditContext {
  readonly log: Pick<BaseLogger, 'info'>;
  readonly ip: string;
  readonly auth: { readonly bans: Pick<Bans, 'failed'> };
}

export type AuditedVerb = 'AUTH' | 'AUTHKEY' | 'LOGIN' | 'BYE' | 'ENDKEY' | 'WHOAMI';
/** `none`: nothing to end (BYE without a token). */
export type AuditOutcome = 'ok' | 'fail' | 'none';

const COUNTED: ReadonlySet<AuditedVerb> = new Set(['AUTH', 'AUTHKEY', 'LOGIN', 'WHOAMI']);

export async function auditAuth(ctx: AuditContext, verb: AuditedVerb, user: string, outcome: AuditOutcome): Promise<void> {
  // The name is the client's input: bounded so a log line stays a log line.
  ctx.log.info({ audit: verb, user: user.slice(0, 128), ip: ctx.ip, outcome }, `${verb} ${outcome}`);
  if (outcome === 'fail' && COUNTED.has(verb)) await ctx.auth.bans.failed(ctx.ip);
}
