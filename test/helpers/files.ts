/** What the firmware and player tests share: their world, folder listings, sentinels, multipart uploads. */
import { existsSync, readdirSync } from 'node:fs';
import type { CceClient, HttpResult, TestDaemon } from './daemon.js';
import type { Rest } from './meeting.js';
import { sendMultipart, type Part } from './multipart.js';

/** Written next to a storage root; a traversal test proves it is never read or overwritten. */
export const SENTINEL = 'SENTINEL-DO-NOT-READ';

export interface FileWorld {
  d: TestDaemon;
  cce: CceClient;
  admin: Rest;
  bearer: string;
  /** The storage root under test. */
  root: string;
}

/** Everything in a folder, dotfiles included, sorted; [] when it does not exist. */
export const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** The folder's entries once it is empty, or after 5 s: a server notices a cut upload asynchronously. */
export async function entriesOnceEmpty(dir: string): Promise<string[]> {
  for (let i = 0; i < 200 && entries(dir).length > 0; i++) await new Promise((res) => setTimeout(res, 25));
  return entries(dir);
}

/** A multipart upload to `urlPath`, with the world's admin bearer token unless headers say otherwise. */
export async function uploadTo(w: FileWorld, urlPath: string, parts: Part[], headers: Record<string, string> = { authorization: `Bearer ${w.bearer}` }): Promise<HttpResult> {
  const r = await sendMultipart(`${w.d.url}${urlPath}`, parts, { headers });
  if (r === 'cut') throw new Error('unexpected cut');
  return r;
}
