/**
 * The credential chain: every way of proving who you are, one strategy file
 * each, in ONE ordered table. A door (/v2/cce, /v2/events, each facade route)
 * names the strategies it accepts; the chain asks them in the table's order
 * and the first that answers decides: a principal, or a refusal. A new way is
 * one file and one line here (and its config keys).
 *
 * The order says which credential wins when a request carries two: the SSH
 * token before a bearer (the ForceCommand script's token is what it means),
 * an OIDC or granted bearer before a device token (an admin acting on a device).
 */
import type { AclSubject } from '../../schema/types.js';
import { ANONYMOUS, type Caller } from '../caller.js';
import type { CredentialDeps, DeviceDirectory, StrategyDef } from './deps.js';
import type { CredentialRequest, Principal, Strategy, StrategyName } from './types.js';
import { session } from './session.js';
import { loginToken } from './login-token.js';
import { sshToken } from './ssh-token.js';
import { oidc } from './oidc.js';
import { bearerGrant } from './bearer-grant.js';
import { pantahubToken } from './pantahub-token.js';
import { deviceToken } from './device-token.js';

export const CREDENTIAL_TABLE: readonly StrategyDef[] = [session, loginToken, sshToken, oidc, bearerGrant, pantahubToken, deviceToken];

/** Every request header and envelope field that carries a credential: src/log.ts censors them. */
export const CREDENTIAL_KEYS: readonly string[] = [...new Set(CREDENTIAL_TABLE.flatMap((d) => [...d.headers, ...d.fields]))];

/** The strategies a door accepts, in the table's order. */
export interface Door {
  readonly strategies: readonly Strategy[];
}

/** What /v2/cce accepts (and /v2/events): a session, a LOGIN token with its client secret, an OIDC token. */
export const CCE_DOOR: readonly StrategyName[] = ['session', 'login-token', 'oidc'];

export class CredentialChain {
  private readonly table: readonly Strategy[];
  private readonly devices: CredentialDeps['devices'];
  private readonly cce: Door;

  constructor(deps: CredentialDeps) {
    this.devices = deps.devices;
    this.table = CREDENTIAL_TABLE.map((d) => ({ name: d.name, headers: d.headers, fields: d.fields, resolve: d.create(deps) }));
    this.cce = this.door(CCE_DOOR);
  }

  /** A door accepting these strategies (built once, at route registration). */
  door(names: readonly StrategyName[]): Door {
    for (const n of names) if (!this.table.some((s) => s.name === n)) throw new Error(`no credential strategy ${n}`);
    return { strategies: this.table.filter((s) => names.includes(s.name)) };
  }

  /** The facade that serves devices hands over how device tokens are looked up. */
  provideDevices(directory: DeviceDirectory): void {
    this.devices.current = directory;
  }

  /**
   * Who the request proves to be at this door: a principal, or undefined when
   * it carries none of the door's credentials (or, on /v2/cce, one treated as
   * absent). Throws CredentialRefused (401/403/503) or a 429 Refusal.
   */
  async resolve(req: CredentialRequest, door: Door): Promise<Principal | undefined> {
    for (const s of door.strategies) {
      const r = s.resolve(req);
      const found = r instanceof Promise ? await r : r;
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * The caller of a /v2/cce-style request (`{envelope fields, headers, ip,
   * origin}`): a session, a LOGIN token + X-Client-Secret, or an OIDC bearer
   * token; ANONYMOUS when none. Throws as resolve() does.
   */
  async resolveCaller(req: CredentialRequest): Promise<Caller> {
    return (await this.resolve(req, this.cce))?.caller ?? ANONYMOUS;
  }
}

export type { CredentialRequest, Principal, StrategyName, AclSubject, DeviceDirectory };
export { CredentialRefused } from './types.js';
