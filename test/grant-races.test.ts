/**
 * A grant ended here (BYE, logout, a limit) is never taken back from a read
 * of the store that began before its row's removal committed: the read's row
 * is stale. The store's reads and removals are held open by the test
 * (HeldStore), so each interleaving is exact.
 */
import t from 'tap';
import { SecretTable, digest, type Grant } from '../src/auth/secrets.js';
import type { GrantPersistence, GrantRow } from '../src/auth/grant-rows.js';

const SECRET = 'a-session-secret-issued-by-another-process';
const HOUR = 3_600_000;

function row(): GrantRow {
  const grant: Grant = { kind: 'session', userOid: 2, userName: 'admin', origin: 'local', expires: Date.now() + HOUR, lifetimeMs: HOUR, sliding: true };
  return { grant, owner: 'session 2', issuedAt: Date.now() };
}

/** Grant rows by hex digest; each load and remove waits until the test lets it go (`release`). */
class HeldStore implements GrantPersistence {
  readonly rows = new Map<string, GrantRow>();
  private held: (() => void)[] = [];

  version(): number {
    return 1;
  }
  /** What a row was when the read began: a read sees one snapshot, however long it waits. */
  async load(d: Buffer): Promise<GrantRow | undefined> {
    const seen = this.rows.get(d.toString('hex'));
    await this.hold();
    return seen;
  }
  async owned(owner: string): Promise<{ digest: Buffer; row: GrantRow }[]> {
    const seen = [...this.rows].filter(([, r]) => r.owner === owner).map(([hex, r]) => ({ digest: Buffer.from(hex, 'hex'), row: r }));
    await this.hold();
    return seen;
  }
  async save(d: Buffer, r: GrantRow): Promise<void> {
    this.rows.set(d.toString('hex'), r);
  }
  async remove(ds: Buffer[]): Promise<void> {
    await this.hold();
    for (const d of ds) this.rows.delete(d.toString('hex'));
  }
  touch(): void {}

  private hold(): Promise<void> {
    return new Promise((resolve) => this.held.push(resolve));
  }
  /** Lets the oldest held call go on, and waits for what it then does. */
  async release(): Promise<void> {
    this.held.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  get waiting(): number {
    return this.held.length;
  }
}

function setUp() {
  const store = new HeldStore();
  store.rows.set(digest(SECRET).toString('hex'), row());
  return { store, table: new SecretTable(Date.now, () => undefined, store) };
}

t.test('ended while its row is read: the row read is not taken back', async (t) => {
  const { store, table } = setUp();
  const using = table.lookup(SECRET);
  t.equal(store.waiting, 1, 'the request reads the row');
  const ending = table.revoke(SECRET);
  await store.release(); // the read ends, with the row as it was
  t.equal(await using, undefined, 'the request in flight is refused');
  await store.release(); // the removal commits
  await ending;
  t.equal(table.size, 0, 'nothing is kept');
  const after = table.lookup(SECRET);
  await store.release();
  t.equal(await after, undefined, 'the next request is refused');
});

t.test('read while its removal is not committed: the row read is not taken back', async (t) => {
  const { store, table } = setUp();
  const ending = table.revoke(SECRET);
  const using = table.lookup(SECRET);
  t.equal(store.waiting, 2, 'the removal and the read are both under way');
  await store.release(); // the removal commits
  await ending;
  await store.release(); // the read ends with what it saw before
  t.equal(await using, undefined, 'refused');
  t.equal(table.size, 0);
});

t.test('a grant nobody ended is taken from the store and kept', async (t) => {
  const { store, table } = setUp();
  const using = table.lookup(SECRET);
  await store.release();
  t.equal((await using)?.userName, 'admin');
  t.equal(table.size, 1);
  t.equal((await table.lookup(SECRET))?.userName, 'admin', 'the next use reads nothing (version unchanged)');
  t.equal(store.waiting, 0);
});
