/**
 * The map of the protocol: every verb the dispatcher knows, one module each.
 * A new command is one file in this folder plus one line here.
 */
import type { Command } from '../src/dispatch/types.js';
import { AUTH } from './AUTH.js';
import { AUTHKEY } from './AUTHKEY.js';
import { BEGIN } from './BEGIN.js';
import { BYE } from './BYE.js';
import { CLASSES } from './CLASSES.js';
import { COMMIT } from './COMMIT.js';
import { CREATE } from './CREATE.js';
import { DESTROY } from './DESTROY.js';
import { ENDKEY } from './ENDKEY.js';
import { EVENT } from './EVENT.js';
import { FIND } from './FIND.js';
import { FINDX } from './FINDX.js';
import { GET } from './GET.js';
import { GETALL } from './GETALL.js';
import { GETOBJECT } from './GETOBJECT.js';
import { LOGIN } from './LOGIN.js';
import { NAMES } from './NAMES.js';
import { PING } from './PING.js';
import { RESUME } from './RESUME.js';
import { ROLLBACK } from './ROLLBACK.js';
import { SET } from './SET.js';
import { SUSPEND } from './SUSPEND.js';
import { WHOAMI } from './WHOAMI.js';

export const COMMANDS: readonly Command[] = [
  PING,
  AUTH,
  AUTHKEY,
  LOGIN,
  WHOAMI,
  BYE,
  ENDKEY,
  CLASSES,
  NAMES,
  GET,
  SET,
  CREATE,
  DESTROY,
  FIND,
  FINDX,
  GETOBJECT,
  GETALL,
  SUSPEND,
  RESUME,
  BEGIN,
  COMMIT,
  ROLLBACK,
  EVENT,
];

export const COMMAND_TABLE: ReadonlyMap<string, Command> = new Map(COMMANDS.map((c) => [c.verb, c]));
