import { z } from 'zod';
import { Tokens } from '../src/dispatch/args.js';
import { ok, type ReadCommand } from '../src/dispatch/types.js';
import { badParameters } from '../src/errors.js';

/** An id: digits, as a string or a number (the SSE stream's `id:` lines and `last` are strings). */
const id = z.union([z.string().regex(/^(0|[1-9][0-9]{0,15})$/), z.number().int().nonnegative()]).transform(Number).pipe(z.number().max(Number.MAX_SAFE_INTEGER));
const count = (min: number, max: number) => z.union([z.string().regex(/^[0-9]{1,7}$/).transform(Number), z.number().int()]).pipe(z.number().int().min(min).max(max));

export const MAX_LIMIT = 10_000;
const argsSchema = z.object({
  since: id.optional(),
  limit: count(1, MAX_LIMIT).default(1000),
  // Seconds; cut to event_max_wait when it runs.
  wait: z.union([z.string().regex(/^[0-9]{1,7}(\.[0-9]+)?$/).transform(Number), z.number()]).pipe(z.number().min(0).max(1e6)).default(0),
});

type Args = z.output<typeof argsSchema>;

/**
 * EVENT [<since>]: the changes after `since` the caller may read, oldest
 * first, at most `limit` (names of properties, never values), and `last`, the
 * id to pass as the next `since`. With `wait` (seconds, at most
 * event_max_wait) it answers when there is something or the time is up: a
 * long poll. No `since`: from now (no events, the current `last`). A `since`
 * the log no longer reaches (pruned) answers `reset: true` and the current
 * `last`: the client must read again what it shows. The live form is the
 * SSE stream /v2/events (src/http/events-route.ts).
 */
export const EVENT: ReadCommand<Args> = {
  verb: 'EVENT',
  kind: 'read',
  access: 'user',
  parse(input) {
    const t = new Tokens(input.tokens);
    const since = t.done ? input.envelope.since : t.value('an event id');
    t.end();
    const parsed = argsSchema.safeParse({ since, limit: input.envelope.limit, wait: input.envelope.wait });
    if (!parsed.success) throw badParameters(`${parsed.error.issues[0]!.path.join('.')}: expected ${parsed.error.issues[0]!.path[0] === 'since' ? 'an event id' : 'a number in range'}`);
    return parsed.data;
  },
  async run(ctx, { since, limit, wait }) {
    const hub = ctx.changes;
    const deadline = Date.now() + Math.min(wait, ctx.config.event_max_wait) * 1000;
    if (since === undefined) return ok({ events: [], last: String(await hub.head()) });
    let from = since;
    for (;;) {
      if (await hub.isLost(from)) return ok({ events: [], last: String(await hub.head()), reset: true });
      const page = await hub.readPage(ctx.caller, {}, from, await hub.head(), limit);
      const left = deadline - Date.now();
      if (page.events.length > 0 || left <= 0) return ok({ events: page.events, last: String(page.last) });
      from = page.last;
      await hub.waitForChange(left);
      // The daemon stopping ends the wait: an answer without reading the store it closes.
      if (hub.closed) return ok({ events: [], last: String(from) });
    }
  },
};
