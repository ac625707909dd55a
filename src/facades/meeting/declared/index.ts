/**
 * Every Meeting path's declaration (its success replies and its own
 * refusals), by `METHOD path`: the Meeting router (../route.ts) attaches each
 * to its route. test/api-declarations.test.ts fails when a route has none or
 * an entry names no route; the reply check (src/api-reference/reply-check.ts)
 * holds the replies to them while the tests run.
 */
import type { Declarations } from './entry.js';
import { DEVICE_DECLARATIONS } from './devices.js';
import { FILE_DECLARATIONS } from './files.js';
import { SSH_DECLARATIONS } from './ssh.js';

export const MEETING_DECLARATIONS: Declarations = { ...DEVICE_DECLARATIONS, ...FILE_DECLARATIONS, ...SSH_DECLARATIONS };
