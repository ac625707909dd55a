/** Who is calling, as the gate and the session look-up decided. */
import type { AclSubject } from '../schema/types.js';
import type { Grant } from './secrets.js';

export interface Caller extends AclSubject {
  readonly kind: 'anonymous' | 'session' | 'token';
  readonly name: string;
  /** The session or token behind this caller. */
  readonly grant?: Grant;
  /** The raw secret of that grant, so ENDKEY/BYE can revoke it. Never logged. */
  readonly secret?: string;
}

export const ANONYMOUS: Caller = Object.freeze({ kind: 'anonymous', oid: -1, name: '', admin: false, capabilities: [] });

/** What a log line may say about a caller. */
export function describeCaller(c: Caller): string {
  return c.kind === 'anonymous' ? 'anonymous' : `${c.name}(${c.oid})`;
}
