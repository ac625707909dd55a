import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';

/** BYE: ends the request's token (a LOGIN token dies here); a session lives on until ENDKEY. */
export const BYE: ReadCommand<void> = {
  verb: 'BYE',
  kind: 'read',
  access: 'public',
  parse: none,
  run(ctx) {
    const { caller } = ctx;
    if (caller.grant?.kind === 'token' && caller.secret !== undefined) {
      ctx.auth.grants.revoke(caller.secret);
      ctx.log.info({ audit: 'BYE', user: caller.name, ip: ctx.ip, outcome: 'ok' }, 'token ended');
    }
    return goodbye();
  },
};
