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
import { SecretTable, type Grant } from './secrets.js';

export const USER_CLASS = 'User';

export class Auth {
  /** Sessions (AUTH) and tokens (LOGIN) share one table; a grant says which it is. */
  readonly grants: SecretTable;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly config: Config,
    now: () => number = Date.now,
  ) {
    this.grants = new SecretTable(now);
    this.sweeper = setInterval(() => this.grants.sweep(), 60_000);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  userOid(name: string): number | undefined {
    if (!/^[A-Za-z0-9_.@+-]{1,128}$/.test(name)) return undefined;
    return this.store.findOne(USER_CLASS, '', 'name', name);
  }

  /** The oid of an enabled user whose password matches, else undefined (same cost either way). */
  async checkPassword(name: string, password: string): Promise<number | undefined> {
    const oid = this.userOid(name);
    const hash = oid === undefined ? undefined : this.store.credential(oid, 'password');
    const ok = await verifyPassword(hash, password);
    if (!ok || oid === undefined || !this.store.exists(oid)) return undefined;
    return this.store.rawValues(oid).enabled === '0' ? undefined : oid;
  }

  startSession(userOid: number, userName: string, origin: string): { secret: string; grant: Grant } {
    return this.grants.issue({
      kind: 'session',
      userOid,
      userName,
      origin,
      lifetimeMs: this.config.session_lifetime * 1000,
      sliding: true,
    });
  }

  /** The caller behind a grant, or undefined when its user is gone or disabled. */
  callerFor(grant: Grant, secret: string): Caller | undefined {
    if (!this.store.exists(grant.userOid)) return undefined;
    const v = this.store.rawValues(grant.userOid);
    if (v.enabled === '0') return undefined;
    return {
      kind: grant.kind,
      oid: grant.userOid,
      name: v.name ?? grant.userName,
      admin: v.systemAdministrator === '1',
      capabilities: decodeArray(v.capabilities ?? '') ?? [],
      grant,
      secret,
    };
  }
}
