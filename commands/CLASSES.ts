import { none } from '../src/dispatch/args.js';
import { goodbye, type ReadCommand } from '../src/dispatch/types.js';

/** CLASSES: every class name of the schema, `data.classes`. */
export const CLASSES: ReadCommand<void> = {
  verb: 'CLASSES',
  kind: 'read',
  access: 'user',
  parse: none,
  run: (ctx) => goodbye({ classes: ctx.store.classes() }),
};
