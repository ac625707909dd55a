import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';

/** ENDKEY: destroys the caller's session (or token) for real, with any BEGIN queue it held. */
export const ENDKEY: ReadCommand<void> = {
  verb: 'ENDKEY',
  kind: 'read',
  access: 'user',
  parse: none,
  run(ctx) {
    ctx.auth.grants.revoke(ctx.caller.secret!);
    ctx.log.info({ audit: 'ENDKEY', user: ctx.caller.name, ip: ctx.ip, outcome: 'ok' }, 'session ended');
    return goodbye();
  },
};
