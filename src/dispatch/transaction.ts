/**
 * BEGIN ... COMMIT: a session's queued writes land all-or-nothing.
 *
 * COMMIT prepares every queued write (password hashing is asynchronous and must
 * not run inside a transaction), then runs the whole queue as ONE sliced
 * mutation of the group-commit writer (Writer.submitSliced): one transaction,
 * which the writer may pause between two commands so that other requests are
 * served (they read the state before the COMMIT; other writes wait for the
 * next batch), so two sessions' transactions never interleave. Inside it each
 * command gets its own savepoint: a failing command is undone alone, the next
 * ones still run (so every error is reported), and at the end any failure
 * throws, which rolls the whole queue back.
 */
import { CceError, ERROR_CODES, badParameters } from '../errors.js';
import { plainOid, SLICE_MS, type Mutation, type TxScope, type WriteTx } from '../store/writer.js';
import type { ClassDef } from '../schema/types.js';
import { passwordJobs } from '../auth/passwords.js';
import type { QueuedWrite, TxQueue } from './queues.js';
import type { CommandContext, Reply, WriteTarget } from './types.js';

/** One entry of a COMMIT's `data.results` (keys in the reference's order). */
export interface TxResult {
  command: string;
  error?: string;
  index: number;
  message: string;
  oid?: unknown;
  status: number;
}

export const TX_FAILED_MESSAGE = 'One or more commands in the transaction failed.';

/** The BEGIN queue of the caller's session or token; 402 when none is open (here: see Queues.held). */
export function openQueue(ctx: CommandContext, verb: 'COMMIT' | 'ROLLBACK'): Promise<TxQueue> {
  return ctx.queues.held(ctx.caller.grant, verb);
}

/** Thrown out of the COMMIT mutation so the writer rolls all of it back. */
class RolledBack extends Error {}

function failed(command: string, index: number, err: CceError): TxResult {
  return { command, error: `Error: ${err.code} ${err.message}`, index, message: ERROR_CODES[err.code].word, status: err.code };
}

function succeeded(command: string, index: number, reply: Reply): TxResult {
  const oid = reply.data?.oid;
  return oid === undefined ? { command, index, message: 'OK', status: reply.status } : { command, index, message: 'OK', oid, status: reply.status };
}

const REF = /^\$(0|[1-9][0-9]{0,8})$/;

/** The n of a `$n` reference made by queued command `index`; it must name an earlier command (403). */
function refIndex(ref: string, index: number): number {
  const m = REF.exec(ref);
  if (!m) throw badParameters(`bad reference ${JSON.stringify(ref).slice(0, 40)}`);
  const n = Number(m[1]);
  if (n >= index) throw badParameters(`${ref} refers to a command that runs after this one (index ${index})`);
  return n;
}

const createdNothing = (ref: string, n: number) => badParameters(`${ref}: command ${n} created no object`);

/** `$n` -> the oid created by queued command n, which must have run before command `index`. */
function scopeAt(index: number, created: ReadonlyMap<number, number>): TxScope {
  return {
    oid(ref) {
      if (!ref.startsWith('$')) return plainOid(ref);
      const n = refIndex(ref, index);
      const oid = created.get(n);
      if (oid === undefined) throw createdNothing(ref, n);
      return oid;
    },
  };
}

/**
 * What the oid argument of a write about to be queued names, checked as COMMIT
 * will: digits (not yet whether such an object exists), or `$n` naming an
 * earlier queued CREATE, whose class is returned.
 */
export function queuedTarget(ctx: CommandContext, queue: readonly QueuedWrite[], ref: string): WriteTarget {
  if (!ref.startsWith('$')) return plainOid(ref);
  const n = refIndex(ref, queue.length);
  const q = queue[n]!;
  const cls = q.command.createsClass?.(q.args);
  if (cls === undefined) throw createdNothing(ref, n);
  return ctx.store.classDef(cls);
}

type Prepared = { text: string; mutation: Mutation<Reply> } | { text: string; error: CceError };

async function prepareAll(ctx: CommandContext, queue: readonly QueuedWrite[]): Promise<Prepared[]> {
  // `SET $0 password=...` needs the class of the object `$0` will be, to hash the password beforehand.
  const pendingClass = (ref: string): ClassDef | undefined => {
    const m = REF.exec(ref);
    const q = m ? queue[Number(m[1])] : undefined;
    const cls = q?.command.createsClass?.(q.args);
    return cls === undefined ? undefined : ctx.store.schema.classes.get(cls);
  };
  const txCtx: CommandContext = { ...ctx, pendingClass };
  // No more prepares at once than argon2 jobs may run: a queue of 1,000 password SETs then holds only
  // that many places in the pool's line, and an AUTH sent meanwhile waits behind those, not all 1,000.
  return mapLimited(queue, passwordJobs.limit, async ({ command, args, text }): Promise<Prepared> => {
    try {
      return { text, mutation: await command.prepare(txCtx, args) };
    } catch (err) {
      if (err instanceof CceError) return { text, error: err };
      throw err;
    }
  });
}

/**
 * `fn` over every item, at most `limit` at once; the results in the items' order. Most preparations
 * finish without waiting for anything (a promise chain that never leaves the event loop): every
 * SLICE_MS the workers let it serve others, as the Writer does between the slices of a COMMIT.
 */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let sliceStart = performance.now();
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      if (performance.now() - sliceStart >= SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
        // Other workers went on meanwhile.
        if (next >= items.length) break;
      }
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Runs a queue in one transaction. Results of commands after a failed one are
 * reported as they ran (each saw the effects of the earlier successful ones),
 * even though the whole transaction was then rolled back.
 */
export async function commitQueue(ctx: CommandContext, queue: readonly QueuedWrite[]): Promise<Reply> {
  const prepared = await prepareAll(ctx, queue);
  const results: TxResult[] = [];
  // One step per queued command: the writer may pause between two (other requests are served meanwhile, reading
  // the state before this COMMIT) and the whole queue stays one savepoint of one transaction.
  const mutation = async (w: WriteTx): Promise<TxResult[]> => {
    // On PostgreSQL a transaction that conflicted runs again: its results start over.
    results.length = 0;
    const created = new Map<number, number>();
    for (const [index, p] of prepared.entries()) {
      if (index > 0) await w.yieldPoint();
      if ('error' in p) {
        results.push(failed(p.text, index, p.error));
        continue;
      }
      try {
        const reply = await w.savepoint(async () => p.mutation(w, scopeAt(index, created)));
        const oid = reply.data?.oid;
        if (oid !== undefined) created.set(index, Number(oid));
        results.push(succeeded(p.text, index, reply));
      } catch (err) {
        if (!(err instanceof CceError)) throw err;
        results.push(failed(p.text, index, err));
      }
    }
    if (results.some((r) => r.error !== undefined)) throw new RolledBack();
    return results;
  };
  const audit = { audit: 'COMMIT', user: ctx.caller.name, commands: queue.length };
  try {
    await ctx.writer.submit(mutation);
  } catch (err) {
    if (!(err instanceof RolledBack)) throw err;
    const errors = results.filter((r) => r.error !== undefined);
    // The per-command audit lines above were written before the rollback; this line voids them.
    ctx.log.info({ ...audit, failed: errors.length, outcome: 'rolled_back' }, 'transaction rolled back');
    return { status: 409, message: TX_FAILED_MESSAGE, data: { errors, results, rolled_back: true } };
  }
  ctx.log.info({ ...audit, outcome: 'ok' }, 'transaction committed');
  return { status: 201, message: 'COMMIT successful', data: { results } };
}
