/**
 * `cced purge [--apply] [--older-than DAYS]`: what is stale in the store. A dry run by default: it prints
 * what it would remove and removes nothing; --apply removes it, in one transaction.
 *
 * Stored and stale: tunnel leases past their expires_at, sessions, LOGIN tokens and bearer tokens past
 * their expiry (src/auth/grant-rows.ts; a daemon forgets them at expiry, their rows stay until here), and
 * (with --older-than) device events older than DAYS days, and Pantahub factory tokens that can join no
 * more devices (disabled, expired or used up: src/devices/pantahub-tokens.ts says which; the devices they
 * joined keep working).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { SYSTEM } from '../store/store.js';
import { withStore, type Console } from './cced-context.js';
import { spentFactoryTokens } from '../devices/pantahub-tokens.js';

const DAY_MS = 86_400_000;

function days(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of days');
  return Number(value);
}

export function purgeCommand(program: Command, c: Console): void {
  program
    .command('purge')
    .description('remove expired tunnel leases, sessions and tokens, spent factory tokens and, with --older-than, old device events; a dry run unless --apply')
    .option('--apply', 'remove them (without it: print what would be removed, remove nothing)')
    .option('--older-than <days>', 'also device events older than DAYS days', days)
    .action((o: { apply?: boolean; olderThan?: number }) =>
      withStore(c, async ({ store, writer, events: deviceEvents }) => {
        const now = Date.now();
        const leases: number[] = [];
        for (const oid of await store.find(SYSTEM, 'Tunnel', { criteria: [] })) {
          const expires = Date.parse((await store.rawValues(oid)).expires_at ?? '');
          if (Number.isFinite(expires) && expires <= now) leases.push(oid);
        }
        const before = o.olderThan === undefined ? undefined : now - o.olderThan * DAY_MS;
        const events = before === undefined ? 0 : await deviceEvents.countBefore(before);
        const expiredGrants = await store.grantReads.expired(now);
        const factoryTokens = await spentFactoryTokens(store, now);
        const verb = o.apply ? 'removed' : 'would remove';
        for (const oid of leases) {
          const v = await store.rawValues(oid);
          c.io.out(`${verb}: tunnel lease ${oid} (device ${v.device_key}, ${v.service}, port ${v.port}, expired ${v.expires_at})\n`);
        }
        c.io.out(`${verb}: ${leases.length} expired tunnel leases\n`);
        c.io.out(
          before === undefined
            ? 'device events: kept (give --older-than DAYS to remove old ones)\n'
            : `${verb}: ${events} device events older than ${o.olderThan} days (before ${new Date(before).toISOString()})\n`,
        );
        c.io.out(`${verb}: ${expiredGrants} expired sessions and tokens\n`);
        for (const { token, why } of factoryTokens) c.io.out(`${verb}: factory token ${token.id} of ${token.owner} (${why}, joined ${token.uses})\n`);
        c.io.out(`${verb}: ${factoryTokens.length} factory tokens that can join no more devices\n`);
        if (!o.apply) {
          c.io.out('dry run: nothing removed; run again with --apply to remove the above\n');
          return;
        }
        await writer.submit(async (w) => {
          const tx = store.at(w);
          for (const oid of leases) await tx.destroy(SYSTEM, oid);
          if (before !== undefined) await w.events.deleteBefore(before);
          await w.grants.removeExpired(now);
          for (const { token } of factoryTokens) await tx.destroy(SYSTEM, token.oid);
        });
      }),
    );
}
