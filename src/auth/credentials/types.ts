/**
 * The credential chain's vocabulary. A strategy is one way of proving who you
 * are; given a request it answers a principal (proved), nothing (`undefined`:
 * not its credential, or one this door treats as absent) or a refusal (it
 * throws `CredentialRefused`, or the bans' 429 `Refusal`). Strategies know no
 * door and no HTTP: /v2/cce and every facade describe a request the same way.
 */
import type { BaseLogger } from 'pino';
import type { AclSubject } from '../../schema/types.js';
import type { Caller } from '../caller.js';
import type { OriginClass } from '../origins.js';

export type RequestHeaders = Record<string, string | string[] | undefined>;

/** The names of the strategies, in the order of the one table (src/auth/credentials/index.ts). */
export type StrategyName = 'session' | 'login-token' | 'ssh-token' | 'oidc' | 'bearer-grant' | 'pantahub-token' | 'device-token';

/** What the chain reads of a request, whatever the door. */
export interface CredentialRequest {
  readonly ip: string;
  /** The gate's verdict on the address (src/auth/gate.ts). */
  readonly origin: OriginClass;
  readonly headers: RequestHeaders;
  /** /v2/cce's credential fields (and /v2/events' own). */
  readonly envelope?: { readonly user?: string | undefined; readonly sessionid?: string | undefined; readonly token?: string | undefined };
  /** The device a device path names (its `key`), for X-Device-Token. */
  readonly deviceKey?: string;
  readonly log: Pick<BaseLogger, 'info'>;
}

/** Who a request runs as: the subject the store checks ACLs against, and a loggable label. */
export interface Principal {
  readonly subject: AclSubject;
  /** For the request log line; never a secret. */
  readonly label: string;
  /** The strategy that proved it (none for a door's own anonymous or local principal). */
  readonly via?: StrategyName;
  /** The person behind a session, LOGIN token, bearer grant or OIDC token. */
  readonly caller?: Caller;
  /** The authenticated device's oid (a device acting as itself). */
  readonly deviceOid?: number;
}

/**
 * A credential that was presented and does not prove anything: every door
 * answers it with this HTTP status and message (its own body shape around
 * it). 401: none where one is required; 403: refused; 503: the identity
 * provider's keys cannot be fetched (not the client's mistake, and never a pass).
 */
export class CredentialRefused extends Error {
  constructor(
    readonly status: 401 | 403 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'CredentialRefused';
  }
}

export interface Strategy {
  readonly name: StrategyName;
  /** Request headers that carry this credential (lower case): the log censors them. */
  readonly headers: readonly string[];
  /** Envelope fields that carry it: censored too. */
  readonly fields: readonly string[];
  resolve(req: CredentialRequest): Principal | undefined | Promise<Principal | undefined>;
}

/** The header's value when it was sent exactly once. */
export function headerOf(headers: RequestHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}
