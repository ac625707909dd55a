/**
 * BEGIN queues, bounded in count and in bytes: per queue (`max_queue`,
 * `max_queue_bytes`), per user across all its sessions and tokens
 * (`max_queue_bytes_per_user`) and for the whole daemon
 * (`max_queue_bytes_total`). Without the byte bounds one ordinary user once
 * queued 2,129 SETs of ~1 MB each and the daemon died out of heap.
 *
 * A queue belongs to the session or token that sent BEGIN. Its bytes are given
 * back when its COMMIT has ended or it rolls back, and when its session or token ends
 * (ENDKEY, BYE, expiry, a disabled user...): the tally keeps no state of its
 * own about that, it asks the grant table whether each grant is still valid
 * whenever it counts a user's bytes (and everybody's, before refusing on the
 * total), and drops the queues of ended grants then.
 *
 * Several nodes on one database (`shared`): a session's transaction is sticky
 * to the node that received its BEGIN (src/cluster/shared-begins.ts); the
 * other nodes refuse its writes, COMMIT and BEGIN with 402 naming that node.
 */
import { badParameters, badCommand, type CceError } from '../errors.js';
import type { Grant } from '../auth/secrets.js';
import type { WriteCommand } from './types.js';
import type { SharedBegins } from '../cluster/shared-begins.js';

/** A write waiting in a BEGIN queue. */
export interface QueuedWrite {
  command: WriteCommand;
  args: unknown;
  /** The command as text, echoed in COMMIT results. */
  text: string;
}

export interface QueueLimits {
  max_queue: number;
  max_queue_bytes: number;
  max_queue_bytes_per_user: number;
  max_queue_bytes_total: number;
}

export class TxQueue {
  readonly writes: QueuedWrite[] = [];
  /** What the writes hold, as counted by writeBytes(). */
  bytes = 0;
  constructor(readonly grant: Grant) {}
}

/**
 * What a queued write holds in memory, near enough: its arguments (the values
 * as parsed from the envelope) and its echo text, as UTF-8 bytes.
 */
export function writeBytes(write: QueuedWrite): number {
  return Buffer.byteLength(JSON.stringify(write.args)) + Buffer.byteLength(write.text);
}

export class Queues {
  private readonly byGrant = new WeakMap<Grant, TxQueue>();
  private readonly byUser = new Map<number, Set<TxQueue>>();
  /** Bytes of every queue in byUser (ended grants' included until they are dropped). */
  private total = 0;

  constructor(
    private readonly limits: QueueLimits,
    /** Is this grant still valid? (SecretTable.holds) */
    private readonly valid: (grant: Grant) => boolean,
    /** Several nodes: which one holds each session's transaction, by the grant's key (SecretTable.keyOf). */
    private readonly shared?: { begins: SharedBegins; keyOf: (grant: Grant) => string | undefined },
  ) {}

  /** The grant's key on the shared database, when nodes share it. */
  private sharedKey(grant: Grant | undefined): string | undefined {
    return grant === undefined ? undefined : this.shared?.keyOf(grant);
  }

  /** BEGIN: 402 when one is open already, here or on another node. */
  async begin(grant: Grant): Promise<TxQueue> {
    if (this.byGrant.has(grant)) throw alreadyOpen();
    const key = this.sharedKey(grant);
    if (key !== undefined) await this.shared!.begins.take(key);
    return this.open(grant);
  }

  /**
   * The caller's queue for COMMIT or ROLLBACK: 402 when none is open here (naming the node that holds it,
   * if another does); for COMMIT, also when another node's ROLLBACK has ended it.
   */
  async held(grant: Grant | undefined, verb: 'COMMIT' | 'ROLLBACK'): Promise<TxQueue> {
    const queue = this.of(grant);
    const key = this.sharedKey(grant);
    if (queue !== undefined) {
      if (key !== undefined && verb === 'COMMIT') await this.shared!.begins.stillHeld(key);
      return queue;
    }
    if (key !== undefined) await this.shared!.begins.refuseHeldElsewhere(key);
    throw badCommand('no transaction is open (BEGIN first)');
  }

  /** A write with no queue open here: 402 when another node holds the caller's transaction (it was meant to be queued there). */
  async refuseHeldElsewhere(grant: Grant | undefined): Promise<void> {
    const key = this.sharedKey(grant);
    if (key !== undefined) await this.shared!.begins.refuseHeldElsewhere(key);
  }

  /** ROLLBACK of a transaction another node holds (its node may be gone): ended everywhere; whether there was one. */
  async endElsewhere(grant: Grant | undefined): Promise<boolean> {
    const key = this.sharedKey(grant);
    return key !== undefined && (await this.shared!.begins.endElsewhere(key));
  }

  /** COMMIT has ended or ROLLBACK: close(), and the other nodes may take the session's writes again. */
  async end(queue: TxQueue): Promise<void> {
    this.close(queue);
    const key = this.sharedKey(queue.grant);
    if (key !== undefined) await this.shared!.begins.release(key);
  }

  /** The open queue of a session or token. */
  of(grant: Grant | undefined): TxQueue | undefined {
    return grant === undefined ? undefined : this.byGrant.get(grant);
  }

  /** BEGIN: 402 when one is open already. */
  open(grant: Grant): TxQueue {
    if (this.byGrant.has(grant)) throw alreadyOpen();
    const queue = new TxQueue(grant);
    this.byGrant.set(grant, queue);
    let mine = this.byUser.get(grant.userOid);
    if (mine === undefined) this.byUser.set(grant.userOid, (mine = new Set()));
    mine.add(queue);
    return queue;
  }

  /** COMMIT: the queue leaves its grant (the next write runs directly); its bytes count until close(). */
  detach(queue: TxQueue): void {
    if (this.byGrant.get(queue.grant) === queue) this.byGrant.delete(queue.grant);
  }

  /** ROLLBACK, or a COMMIT that has ended: the queue leaves its grant and its bytes are given back. */
  close(queue: TxQueue): void {
    this.detach(queue);
    const mine = this.byUser.get(queue.grant.userOid);
    if (mine?.delete(queue) !== true) return;
    this.total -= queue.bytes;
    if (mine.size === 0) this.byUser.delete(queue.grant.userOid);
  }

  /**
   * Adds a write, or throws 403 naming the limit it would pass; the queue is
   * then as it was. `check` (the queue-time checks of the write itself) runs
   * after the count limit and before the write is made and measured: a write
   * that cannot succeed is refused without its echo being built or its bytes
   * counted, which for a 1 MB value costs milliseconds of the event loop.
   */
  async add(queue: TxQueue, make: () => QueuedWrite, check: () => Promise<void>): Promise<void> {
    const { max_queue, max_queue_bytes, max_queue_bytes_per_user, max_queue_bytes_total } = this.limits;
    if (queue.writes.length >= max_queue) throw full('the transaction queue is', `max_queue = ${max_queue}`);
    await check();
    // Other writes of the queue may have been added while the check read the store.
    if (queue.writes.length >= max_queue) throw full('the transaction queue is', `max_queue = ${max_queue}`);
    const write = make();
    const bytes = writeBytes(write);
    if (queue.bytes + bytes > max_queue_bytes) throw full('the transaction queue is', `max_queue_bytes = ${max_queue_bytes}`);
    if (this.userBytes(queue.grant.userOid) + bytes > max_queue_bytes_per_user) {
      throw full("this user's transaction queues are", `max_queue_bytes_per_user = ${max_queue_bytes_per_user}`);
    }
    if (this.total + bytes > max_queue_bytes_total && this.dropEnded() + bytes > max_queue_bytes_total) {
      throw full('the transaction queues of the daemon are', `max_queue_bytes_total = ${max_queue_bytes_total}`);
    }
    queue.writes.push(write);
    queue.bytes += bytes;
    this.total += bytes;
  }

  /** Bytes of a user's queues whose grants are still valid; those of ended grants are dropped. */
  private userBytes(userOid: number): number {
    let sum = 0;
    for (const queue of this.byUser.get(userOid) ?? []) {
      if (this.valid(queue.grant)) sum += queue.bytes;
      else this.close(queue);
    }
    return sum;
  }

  /** Drops every queue of an ended grant; returns the bytes left. */
  private dropEnded(): number {
    for (const userOid of [...this.byUser.keys()]) this.userBytes(userOid);
    return this.total;
  }
}

const alreadyOpen = () => badCommand('a transaction is already open (COMMIT or ROLLBACK it first)');

function full(what: string, limit: string): CceError {
  return badParameters(`${what} full (${limit})`);
}
