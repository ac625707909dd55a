import { none } from '../src/dispatch/args.js';
import { openQueue } from '../src/dispatch/transaction.js';
import type { ReadCommand } from '../src/dispatch/types.js';

/** ROLLBACK (ours): drops the queued writes; nothing of them was applied. */
export const ROLLBACK: ReadCommand<void> = {
  verb: 'ROLLBACK',
  kind: 'read',
  access: 'user',
  parse: none,
  async run(ctx) {
    // Another node holds it (that node may be gone): ended there too, its writes never applied.
    if (ctx.queues.of(ctx.caller.grant) === undefined && (await ctx.queues.endElsewhere(ctx.caller.grant))) {
      return { status: 201, message: 'ROLLBACK OK', data: { discarded: 0 } };
    }
    const queue = await openQueue(ctx, 'ROLLBACK');
    await ctx.queues.end(queue);
    return { status: 201, message: 'ROLLBACK OK', data: { discarded: queue.writes.length } };
  },
};
