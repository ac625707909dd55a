/**
 * The users' SSH keys that may log in now, as authorized_keys lines (GET
 * /api/users/authorized-keys): every user who may log in (auth.ts
 * userDisabled: neither disabled nor unauthorized) with a well-formed
 * ssh_pubkey, in name order, each key's comment naming its account.
 */
import { SYSTEM, type Store } from '../store/store.js';
import { USER_CLASS, userDisabled } from '../auth/auth.js';
import { parsePublicKey } from '../tunnels/public-key.js';

export async function authorizedKeyLines(store: Store): Promise<string[]> {
  const users = await store.find(SYSTEM, USER_CLASS, { criteria: [], sortprop: { ns: '', name: 'name' } });
  const lines: string[] = [];
  for (const oid of users) {
    const v = await store.rawValues(oid);
    if (userDisabled(v) || !v.ssh_pubkey) continue;
    const key = parsePublicKey(v.ssh_pubkey);
    if (key) lines.push(`${key.canonical} ${v.name}\n`);
  }
  return lines;
}
