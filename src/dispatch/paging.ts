/**
 * Bounded reads: FIND, FINDX and GETALL answer at most `max_results` objects
 * (and GETALL at most about `max_reply_bytes`), examining at most
 * `max_scan_rows` candidates (a sorted one sorts at most `max_sort_rows`). A cut reply carries `"truncated": true` and
 * `"next"`, a cursor the client sends back as the envelope's `after`:
 * `o:<oid>` continues in oid order, `i:<n>` past the first n of a sorted
 * order or of an `oids` list.
 */
import { badParameters } from '../errors.js';
import type { FindBounds, FindCursor, FindPage } from '../store/store.js';
import type { CommandContext } from './types.js';

const CURSOR = /^([oi]):(\d{1,15})$/;

export function parseCursor(after: string | undefined): FindCursor | undefined {
  if (after === undefined) return undefined;
  const m = CURSOR.exec(after);
  if (!m) throw badParameters('after: expected a cursor from a truncated reply ("o:<oid>" or "i:<count>")');
  return m[1] === 'o' ? { oid: Number(m[2]) } : { skip: Number(m[2]) };
}

export function cursorText(cursor: FindCursor): string {
  return 'oid' in cursor ? `o:${cursor.oid}` : `i:${cursor.skip}`;
}

export function findBounds(ctx: Pick<CommandContext, 'config'>, after: FindCursor | undefined): FindBounds {
  return { limit: ctx.config.max_results, maxScan: ctx.config.max_scan_rows, maxSort: ctx.config.max_sort_rows, after };
}

/** The reply fields of a page of which the first `shown` oids were answered. */
export function continuation(page: FindPage, shown = page.oids.length): { truncated?: true; next?: string } {
  return page.more || shown < page.oids.length ? { truncated: true, next: cursorText(page.resume(shown)) } : {};
}
