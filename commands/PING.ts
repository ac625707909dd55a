import { none } from '../src/dispatch/args.js';
import type { ReadCommand } from '../src/dispatch/types.js';

/** PING: liveness, no credentials needed. */
export const PING: ReadCommand<void> = {
  verb: 'PING',
  kind: 'read',
  access: 'public',
  parse: none,
  run: () => ({ status: 202, message: 'PONG' }),
};
