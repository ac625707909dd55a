import { none } from '../src/dispatch/args.js';
import { badCommand } from '../src/errors.js';
import { commitQueue, openQueue } from '../src/dispatch/transaction.js';
import type { ReadCommand } from '../src/dispatch/types.js';

/**
 * COMMIT: runs the BEGIN queue all-or-nothing (src/dispatch/transaction.ts).
 * The queue is consumed whatever the outcome, except while writes are
 * suspended: then 309 and the queue waits for RESUME.
 */
export const COMMIT: ReadCommand<void> = {
  verb: 'COMMIT',
  kind: 'read',
  access: 'user',
  parse: none,
  async run(ctx) {
    const queue = await openQueue(ctx, 'COMMIT');
    // Read now on a shared database (another node may have suspended): a refused COMMIT keeps its queue for RESUME.
    await ctx.state.refuseWhileSuspendedNow();
    // Another COMMIT of the session may have taken the queue while this one awaited: each queue commits once.
    if (ctx.queues.of(ctx.caller.grant) !== queue) throw badCommand('no transaction is open (BEGIN first)');
    // Taken off the grant first: writes sent while this COMMIT runs are no longer part of it.
    // Its bytes still count until the COMMIT ends: the writes are in memory until then.
    ctx.queues.detach(queue);
    try {
      return await commitQueue(ctx, queue.writes);
    } finally {
      await ctx.queues.end(queue);
    }
  },
};
