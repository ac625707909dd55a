/** How a Meeting path's declaration is written (src/api-reference/declaration.ts RouteDoc). */
import { z } from 'zod';
import type { RouteDoc, ReplyBody, Refused } from '../../../api-reference/declaration.js';

export type Declarations = Readonly<Record<string, RouteDoc>>;

/** A path's summary, its success replies (a bare body is the 200's; `{}` when it never succeeds) and its own refusals. */
export function declare(summary: string, replies: ReplyBody | RouteDoc['replies'], refusals: readonly Refused[] = [], extra: Partial<RouteDoc> = {}): RouteDoc {
  const bare = replies instanceof z.ZodType || (replies !== undefined && 'media' in replies);
  return { summary, replies: bare ? { 200: replies as ReplyBody } : (replies as RouteDoc['replies']), refusals, ...extra };
}
