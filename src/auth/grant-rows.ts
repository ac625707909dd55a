/**
 * The stored half of the grant table (migration 4): one row per session, LOGIN
 * token or bearer grant, found by the SHA-256 of its secret (never the secret
 * itself), so a restart or a second process on the same store keeps a grant
 * until it expires or is ended. SecretTable (src/auth/secrets.ts) keeps the
 * rows it has read in memory and checks them again only when another
 * connection has committed (SQLite's data_version): a request with a known
 * session costs no SQL.
 *
 * The rows live behind the store's port (src/store/async-port.ts
 * AsyncGrantReads, read on either backend; the SQL is src/store/sqlite/grants.ts
 * and src/store/postgres/rows.ts); this file turns them into Grants.
 *
 * Writes go through the writer as upkeep (exempt from SUSPEND, like other
 * maintenance): a client may still log in and out while writes are suspended.
 */
import type { GrantRecord } from '../store/port.js';
import type { Store } from '../store/store.js';
import type { Writer, WriteTx } from '../store/writer.js';
import type { Grant } from './secrets.js';

/** A grant as stored, with the key its limit counts under and when it was issued. */
export interface GrantRow {
  grant: Grant;
  owner: string | undefined;
  issuedAt: number;
}

function fromRaw(r: GrantRecord): GrantRow {
  const grant: Grant = {
    kind: r.kind,
    userOid: r.user_oid,
    userName: r.user_name,
    origin: r.origin,
    ...(r.bound_to === null ? {} : { boundTo: r.bound_to }),
    ...(r.admin === 1 ? { admin: true } : {}),
    expires: r.expires_at,
    lifetimeMs: r.lifetime_ms,
    sliding: r.sliding === 1,
  };
  return { grant, owner: r.owner ?? undefined, issuedAt: r.issued_at };
}

/** What SecretTable asks of the store. */
export interface GrantPersistence {
  /** Changes whenever another connection committed (then what was read may be stale). */
  version(): number;
  load(digest: Buffer): Promise<GrantRow | undefined>;
  /** The owner's live grants as stored (by any node), soonest expiry first. */
  owned(owner: string, now: number): Promise<{ digest: Buffer; row: GrantRow }[]>;
  save(digest: Buffer, row: GrantRow): Promise<void>;
  remove(digests: Buffer[]): Promise<void>;
  touch(digest: Buffer, expires: number): void;
}

/** GrantPersistence over the store, writing through the writer. */
export class StoredGrants implements GrantPersistence {
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly writer: Writer,
    /** A write that failed (the store is failing): reported, never thrown at a request. */
    private readonly failed: (err: unknown) => void,
  ) {}

  /** No more writes: the daemon is closing its database. */
  close(): void {
    this.closed = true;
  }

  version(): number {
    return this.store.externalVersion();
  }

  async load(digest: Buffer): Promise<GrantRow | undefined> {
    const r = await this.store.grantReads.get(digest);
    return r && fromRaw(r);
  }

  async owned(owner: string, now: number): Promise<{ digest: Buffer; row: GrantRow }[]> {
    return (await this.store.grantReads.ofOwner(owner, now)).map((r) => ({ digest: r.digest, row: fromRaw(r) }));
  }

  save(digest: Buffer, { grant: g, owner, issuedAt }: GrantRow): Promise<void> {
    const row: GrantRecord = {
      digest,
      kind: g.kind,
      user_oid: g.userOid,
      user_name: g.userName,
      origin: g.origin,
      bound_to: g.boundTo ?? null,
      admin: g.admin === true ? 1 : 0,
      owner: owner ?? null,
      issued_at: issuedAt,
      expires_at: g.expires,
      lifetime_ms: g.lifetimeMs,
      sliding: g.sliding ? 1 : 0,
    };
    return this.write((w) => w.grants.put(row));
  }

  remove(digests: Buffer[]): Promise<void> {
    return digests.length
      ? this.write(async (w) => {
          for (const d of digests) await w.grants.remove(d);
        })
      : Promise.resolve();
  }

  touch(digest: Buffer, expires: number): void {
    void this.write((w) => w.grants.extend(digest, expires));
  }

  private write(run: (w: WriteTx) => Promise<void>): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.writer.maintenance(run).catch((err: unknown) => this.failed(err));
  }
}
