import { none } from '../src/dispatch/args.js';
import { openQueue } from '../src/dispatch/transaction.js';
import type { ReadCommand } from '../src/dispatch/types.js';

/** ROLLBACK (ours): drops the queued writes; nothing of them was applied. */
export const ROLLBACK: ReadCommand<void> = {
  verb: 'ROLLBACK',
  kind: 'read',
  access: 'user',
  parse: none,
  run(ctx) {
    const queue = openQueue(ctx);
    ctx.queues.close(queue);
    return { status: 201, message: 'ROLLBACK OK', data: { discarded: queue.writes.length } };
  },
};
