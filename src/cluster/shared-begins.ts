/**
 * BEGIN ... COMMIT across the nodes of one database: a session's transaction
 * is sticky to the node that received its BEGIN. Its queued writes are in
 * that node's memory (src/dispatch/queues.ts); what the nodes share is which
 * node holds it, a setting row per session with a BEGIN open (`begin:<its
 * digest>` = the holding node), written in one job with the check that no
 * other node holds one. The row goes with the session's grant row (src/store/postgres/rows.ts): a session
 * that ended (ENDKEY, BYE, a disabled user, purged once expired) with its BEGIN open leaves none behind.
 *
 * Another node asked for a write, a COMMIT or a BEGIN of that session refuses
 * it with 402 naming the holding node: never a write run directly that the
 * client meant to queue, never an empty COMMIT. A ROLLBACK on another node
 * ends the transaction everywhere (the client gives up on it, e.g. its node
 * died): the row goes, and the holding node's COMMIT, which checks its row is
 * still there, is refused.
 *
 * Why sticky rather than a shared queue: a queue's writes hold parsed values
 * and their echo (up to max_queue_bytes), and a queued write's checks read the
 * store as of when it was queued; moving them between nodes would be a second
 * store. A load balancer keeps a client on one node anyway for a session's
 * keep-alive connection; the rule only says what happens when it does not.
 */
import { randomUUID } from 'node:crypto';
import { badCommand } from '../errors.js';
import { BEGIN_HOLDER_PREFIX } from '../store/async-port.js';
import type { Store } from '../store/store.js';
import type { Writer } from '../store/writer.js';

/** What a node knows of a session's open transaction on the shared database. */
export interface SharedBegins {
  /** BEGIN: this node holds the session's transaction now; 402 when another node does. */
  take(key: string): Promise<void>;
  /** COMMIT here: 402 when this node no longer holds it (ended by a ROLLBACK on another node). */
  stillHeld(key: string): Promise<void>;
  /** COMMIT or ROLLBACK here has ended it. */
  release(key: string): Promise<void>;
  /** A write, COMMIT or BEGIN with no transaction open here: 402 when another node holds one. */
  refuseHeldElsewhere(key: string): Promise<void>;
  /** ROLLBACK with no transaction open here: ends one another node holds; whether there was one. */
  endElsewhere(key: string): Promise<boolean>;
}

const PREFIX = BEGIN_HOLDER_PREFIX;
/** Sessions whose row is remembered; past it the memory starts again (a read each, as before). */
const MAX_REMEMBERED = 10_000;

export function sharedBegins(store: Store, writer: Writer, nodeUrl: string | undefined): SharedBegins {
  // This process, not only this node's address: a node that restarted lost its queues.
  const me = `${randomUUID()} ${nodeUrl ?? ''}`;
  const where = (holder: string) => {
    const url = holder.slice(holder.indexOf(' ') + 1);
    return url === '' ? 'another node' : `node ${url}`;
  };
  const heldElsewhere = (holder: string) =>
    badCommand(`this session's transaction is open on ${where(holder)}: send its writes, COMMIT or ROLLBACK there (or ROLLBACK here to end it)`);
  const read = (key: string) => store.setting(PREFIX + key);
  /**
   * A session's row as read, at the external version read before: another node's BEGIN or ROLLBACK moves
   * that version when it commits, and a request awaits a version read after it arrived (Store.catchUp), so
   * until the version moves the row is as read. This node's own jobs forget the session's entry, and a
   * read under way while one runs is not kept (`jobs` moved).
   */
  const remembered = new Map<string, { version: number; holder: string | undefined }>();
  let jobs = 0;
  const holderOf = async (key: string) => {
    const version = store.externalVersion();
    const known = remembered.get(key);
    if (known?.version === version) return known.holder;
    const started = jobs;
    const holder = await read(key);
    if (started === jobs) {
      if (remembered.size >= MAX_REMEMBERED) remembered.clear();
      remembered.set(key, { version, holder });
    }
    return holder;
  };
  // Bookkeeping of the daemon, not a client's data: it goes through while writes are suspended, as BEGIN does.
  const job = async <R>(key: string, fn: (tx: ReturnType<Store['at']>) => Promise<R>) => {
    jobs++;
    remembered.delete(key);
    try {
      return await writer.maintenance((w) => fn(store.at(w)));
    } finally {
      jobs++;
      remembered.delete(key);
    }
  };
  return {
    take: (key) =>
      job(key, async (tx) => {
        const holder = await tx.setting(PREFIX + key);
        if (holder !== undefined && holder !== me) throw heldElsewhere(holder);
        await tx.putSetting(PREFIX + key, me);
      }),
    async stillHeld(key) {
      if ((await read(key)) !== me) throw badCommand('this transaction was ended by a ROLLBACK on another node; nothing of it was applied');
    },
    release: (key) =>
      job(key, async (tx) => {
        if ((await tx.setting(PREFIX + key)) === me) await tx.putSetting(PREFIX + key, undefined);
      }),
    async refuseHeldElsewhere(key) {
      const holder = await holderOf(key);
      if (holder !== undefined && holder !== me) throw heldElsewhere(holder);
    },
    endElsewhere: (key) =>
      job(key, async (tx) => {
        const holder = await tx.setting(PREFIX + key);
        if (holder === undefined || holder === me) return false;
        await tx.putSetting(PREFIX + key, undefined);
        return true;
      }),
  };
}
