/**
 * Authentication over the store: password checks, sessions, and turning a
 * grant back into a Caller (re-reading the user each time, so disabling a
 * user or revoking its admin flag takes effect on its very next request).
 */
import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { decodeArray } from '../schema/values.js';
import type { Caller } from './caller.js';
import { verifyPassword } from './passwords.js';
import { SecretTable, type Grant, type GrantLimit } from './secrets.js';
import { StoredGrants } from './grant-rows.js';
import type { Writer } from '../store/writer.js';
import type { Bans } from './bans.js';
import type { ClientSecrets } from './client-secrets.js';

/** The gate's parts that commands use: failure counting and client secrets. */
export interface Guards {
  bans: Bans;
  clients: ClientSecrets;
  /** Where grants are stored (src/auth/grant-rows.ts); without it they live in memory only. */
  writer?: Writer;
  /** A grant's row that could not be written (the store is failing). */
  storeFailed?: (err: unknown) => void;
}

export const USER_CLASS = 'User';
/** What a user name may be, wherever one is claimed (AUTH, REST login, an OIDC token). */
export const USER_NAME = /^[A-Za-z0-9_.@+-]{1,128}$/;

/** The settings key of a user's grant epoch: grants issued before that time (ms) are void (src/users/lifecycle.ts). */
export const grantEpochKey = (userOid: number) => `grants_epoch.${userOid}`;

/** The name api-admin is created with (src/auth/api-admin.ts). */
export const API_ADMIN_NAME = 'api-admin';

/**
 * A user who may not log in by any door nor keep a grant: disabled
 * (`enabled=0`), or a Meeting user no longer authorized (`authorized=0`).
 * Password logins, OIDC, the grants' callers and the user lifecycle all ask this.
 */
export function userDisabled(v: Readonly<Record<string, string | undefined>>): boolean {
  return v.enabled === '0' || v.authorized === '0';
}

export class Auth {
  /** Sessions (AUTH) and tokens (LOGIN) share one table; a grant says which it is. */
  readonly grants: SecretTable;
  private readonly stored: StoredGrants | undefined;
  readonly bans: Bans;
  readonly clients: ClientSecrets;
  /**
   * The identity behind LOGIN tokens; nobody may AUTH as it. src/auth/api-admin.ts
   * sets it at start; until then -1, an oid no object has, so a token maps to no caller.
   */
  apiAdminOid = -1;
  private sweeper: NodeJS.Timeout | undefined;
  /** callerFor's answers, per grant, with the User revision they were read at. */
  private readonly callers = new WeakMap<Grant, { revision: number; caller: Caller | undefined }>();

  constructor(
    private readonly store: Store,
    private readonly config: Config,
    guards: Guards,
    now: () => number = Date.now,
  ) {
    this.bans = guards.bans;
    this.clients = guards.clients;
    this.stored = guards.writer && new StoredGrants(store, guards.writer, guards.storeFailed ?? (() => {}));
    this.grants = new SecretTable(now, (g) => this.limitOf(g), this.stored);
    // This node's memory only (the rows stay until `cced purge`): every node sweeps its own, none takes turns.
    this.sweeper = setInterval(() => this.grants.sweep(), 60_000);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.stored?.close();
  }

  async userOid(name: string): Promise<number | undefined> {
    if (!USER_NAME.test(name)) return undefined;
    return await this.store.findOne(USER_CLASS, '', 'name', name);
  }

  /**
   * The oid of an enabled user whose password matches, else undefined (same cost
   * either way). api-admin is refused even with its right password.
   */
  async checkPassword(name: string, password: string): Promise<number | undefined> {
    const oid = await this.userOid(name);
    const hash = oid === undefined ? undefined : await this.store.credential(oid, 'password');
    const ok = await verifyPassword(hash, password);
    if (!ok || oid === undefined || oid === this.apiAdminOid || !await this.store.exists(oid)) return undefined;
    return userDisabled(await this.store.rawValues(oid)) ? undefined : oid;
  }

  startSession(userOid: number, userName: string, origin: string): Promise<{ secret: string; grant: Grant; saved: Promise<void> }> {
    return this.grants.issue({
      kind: 'session',
      userOid,
      userName,
      origin,
      lifetimeMs: this.config.session_lifetime * 1000,
      sliding: true,
    });
  }

  /** Whether api-admin exists and is enabled: a token for it would be worth nothing otherwise. */
  async apiAdminEnabled(): Promise<boolean> {
    return await this.store.exists(this.apiAdminOid) && (await this.store.rawValues(this.apiAdminOid)).enabled !== '0';
  }

  /** A LOGIN token for api-admin, bound to the api_access entry it was issued from; it does not slide. */
  startToken(entry: string): Promise<{ secret: string; grant: Grant; saved: Promise<void> }> {
    return this.grants.issue({
      kind: 'token',
      userOid: this.apiAdminOid,
      userName: API_ADMIN_NAME,
      origin: entry,
      lifetimeMs: this.config.token_lifetime * 1000,
      sliding: false,
    });
  }

  /**
   * Who a new grant counts against: LOGIN tokens per api_access entry
   * (max_tokens_per_client), AUTH sessions and Meeting bearer tokens per user
   * (max_sessions_per_user, each kind its own count). At the bound the owner's
   * grant closest to expiry ends rather than the new one being refused: a
   * client or user that lost track of its grants (a crash, a script that never
   * says BYE) can always start again, and what it drops is what it used least.
   */
  private limitOf(g: Omit<Grant, 'expires'>): GrantLimit {
    if (g.kind === 'token' && g.userOid === this.apiAdminOid) return { key: `client ${g.origin}`, max: this.config.max_tokens_per_client };
    const kind = g.kind === 'session' ? 'session' : `token ${g.origin}`;
    return { key: `${kind} ${g.userOid}`, max: this.config.max_sessions_per_user };
  }

  /**
   * Ends a user's grants at once (src/users/lifecycle.ts decides when), but
   * `keep`: the grant whose own write set the user's new password.
   */
  endGrants(userOid: number, keep: Grant | undefined): number {
    if (keep !== undefined) this.grants.renew(keep);
    return this.grants.revokeUser(userOid, keep);
  }

  /**
   * The caller behind a grant, or undefined when its user is gone or disabled.
   * Derived from the user object once and kept on the grant until any User
   * object changes (Store.revision), so a disabled user or a changed
   * capability still takes effect on the very next request, without two SQL
   * statements on every authenticated one.
   */
  async callerFor(grant: Grant, secret: string): Promise<Caller | undefined> {
    const revision = this.store.revision(USER_CLASS);
    const cached = this.callers.get(grant);
    if (cached?.revision === revision) return cached.caller;
    const stamp = this.store.readStamp();
    const caller = await this.readCaller(grant, secret);
    if (this.store.stillFresh(stamp)) this.callers.set(grant, { revision, caller });
    return caller;
  }

  private async readCaller(grant: Grant, secret: string): Promise<Caller | undefined> {
    if (!await this.store.exists(grant.userOid)) return undefined;
    const v = await this.store.rawValues(grant.userOid);
    if (userDisabled(v)) return undefined;
    // A grant older than the user's last disabling or new password (by the console, say) is over.
    const epoch = await this.store.setting(grantEpochKey(grant.userOid));
    if (epoch !== undefined && this.grants.issuedAt(grant) < Number(epoch)) {
      void this.grants.revoke(secret);
      return undefined;
    }
    // Frozen: one object now serves many requests.
    return Object.freeze({
      kind: grant.kind,
      oid: grant.userOid,
      name: v.name ?? grant.userName,
      admin: v.systemAdministrator === '1' || grant.admin === true,
      capabilities: Object.freeze(decodeArray(v.capabilities ?? '') ?? []),
      grant,
      secret,
    });
  }
}
