/**
 * One rule for a user's grants, whatever the door (/v2/cce SET or DESTROY, a
 * COMMIT, the Meeting REST paths, the `cced` console): disabling a user
 * (`enabled=0` or `authorized=0`), giving it a new password, or destroying it
 * ends its sessions, LOGIN tokens and bearer tokens. A new password set by the
 * user's own grant keeps that grant (the others end).
 *
 * Two halves, both from the store's write hook, both only once the write has
 * committed (a rolled-back COMMIT ends nothing):
 * - inside the write, the user's grant epoch is stored (a settings row): any
 *   grant issued before it is void. This is what a write by another process
 *   (the console) leaves for the daemon, which reads it with the user (Auth);
 * - after the commit, the daemon ends the grants in memory at once.
 */
import type { AuditEntry, Store, StoreTx, WriteDetail } from '../store/store.js';
import type { Grant } from '../auth/secrets.js';
import type { Caller } from '../auth/caller.js';
import { USER_CLASS, grantEpochKey, userDisabled } from '../auth/auth.js';
import { API_ADMIN_OID_SETTING } from '../auth/api-admin.js';
import { digest } from '../auth/secrets.js';

/** Ends a user's grants in memory, but `keep` (the grant that wrote its own new password). */
export type EndGrants = (userOid: number, keep: Grant | undefined) => void;

/**
 * What of this write ends the user's grants: all of them, all but the writer's own, or none.
 * api-admin's password is rotated at every start and opens nothing (its LOGIN tokens come from
 * an api_access entry's secret): a new one leaves its tokens alone, as a restart must.
 */
async function verdict(store: Store, op: string, oid: number, d: WriteDetail): Promise<'all' | 'others' | undefined> {
  if (op === 'DESTROY') return 'all';
  if (d.values && userDisabled({ enabled: d.values.get('enabled'), authorized: d.values.get('authorized') })) return 'all';
  if (!d.hashed?.has('password') || (await store.setting(API_ADMIN_OID_SETTING)) === String(oid)) return undefined;
  return 'others';
}

export function installUserLifecycle(store: Store, end?: EndGrants): () => void {
  // Told of every write: a write of another class (a fleet's beats) is answered at once, with no promise.
  return store.onWrite((e, detail, tx) => (e.class !== USER_CLASS || (e.op === 'SET' && e.ns !== '') || e.op === 'CREATE' ? undefined : userWritten(e, detail, tx, end)));
}

/** A write of a user: its grants end, or all but the writer's own, as verdict() says. */
async function userWritten(e: AuditEntry, detail: WriteDetail, tx: StoreTx, end: EndGrants | undefined): Promise<void> {
  const which = await verdict(tx, e.op, e.oid, detail);
  if (which === undefined) return;
  const keep = which === 'others' ? (detail.subject as Partial<Caller>).grant : undefined;
  if (e.op !== 'DESTROY') await tx.putSetting(grantEpochKey(e.oid), String(Date.now()));
  // The stored grants end with this write, whichever process makes it: another process's cache sees it.
  const kept = which === 'others' ? (detail.subject as Partial<Caller>).secret : undefined;
  await tx.w.grants.removeUser(e.oid, kept === undefined ? undefined : digest(kept));
  if (end) tx.w.afterCommit(() => end(e.oid, keep));
}
