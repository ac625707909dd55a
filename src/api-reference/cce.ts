/**
 * POST /v2/cce in the API reference: the envelope (src/dispatch/envelope.ts),
 * one example per verb of the command table, and the status of a reply by its
 * first error's code (src/errors.ts).
 */
import { COMMANDS } from '../../commands/index.js';
import { envelopeSchema } from '../dispatch/envelope.js';
import { ERROR_CODES } from '../errors.js';
import { jsonSchemaOf, type JsonSchema } from './schema.js';

/** One request per verb, as a client would send it (CSCP lines in `cmd`, credentials beside them). */
export const VERB_EXAMPLES: Record<string, Record<string, unknown>> = {
  PING: { cmd: 'PING' },
  AUTH: { cmd: 'AUTH', user: 'admin', password: 'the password' },
  AUTHKEY: { cmd: 'AUTHKEY', user: 'admin', sessionid: 'the session id' },
  LOGIN: { cmd: 'LOGIN' }, // with the header X-Client-Secret (a whitelisted remote caller)
  WHOAMI: { cmd: 'WHOAMI', sessionid: 'the session id' },
  BYE: { cmd: 'BYE', sessionid: 'the session id' },
  ENDKEY: { cmd: 'ENDKEY', sessionid: 'the session id' },
  CLASSES: { cmd: 'CLASSES', sessionid: 'the session id' },
  NAMES: { cmd: 'NAMES Device', sessionid: 'the session id' },
  GET: { cmd: 'GET 1', sessionid: 'the session id' },
  SET: { cmd: 'SET 2 name = "front desk"', sessionid: 'the session id' },
  CREATE: { cmd: 'CREATE Device device_key = "AB12CD34"', sessionid: 'the session id' },
  DESTROY: { cmd: 'DESTROY 2', sessionid: 'the session id' },
  FIND: { cmd: 'FIND Device device_key = "AB12CD34"', sessionid: 'the session id' },
  FINDX: { cmd: 'FINDX', class: 'Device', args: { enabled: 1 }, regex_args: { device_key: '^AB' }, sessionid: 'the session id' },
  GETOBJECT: { cmd: 'GETOBJECT', class: 'Device', args: { device_key: 'AB12CD34' }, sessionid: 'the session id' },
  GETALL: { cmd: 'GETALL Device', sessionid: 'the session id' },
  SUSPEND: { cmd: 'SUSPEND', reason: 'maintenance', sessionid: 'the session id' },
  RESUME: { cmd: 'RESUME', sessionid: 'the session id' },
  BEGIN: { cmd: 'BEGIN', sessionid: 'the session id' },
  COMMIT: { cmd: 'COMMIT', sessionid: 'the session id' },
  ROLLBACK: { cmd: 'ROLLBACK', sessionid: 'the session id' },
};

const statusTable = Object.entries(ERROR_CODES)
  .map(([code, e]) => `| ${code} | ${e.word} | ${e.http} | ${e.meaning} |`)
  .join('\n');

const replySchema: JsonSchema = {
  type: 'object',
  description: 'The CCE reply: `data.errors` lists the errors of a failed command (the last one is always 401 FAIL).',
  properties: {
    status: { type: 'integer' },
    message: { type: 'string' },
    data: { type: 'object', properties: { errors: { type: 'array', items: { type: 'object', properties: { code: { type: 'integer' }, message: { type: 'string' } } } } } },
  },
};

export function ccePathItem(): JsonSchema {
  const examples = Object.fromEntries(COMMANDS.map((c) => [c.verb, { summary: `${c.verb} (${c.access ?? 'see docs/protocol.md'})`, value: VERB_EXAMPLES[c.verb] ?? { cmd: c.verb } }]));
  const statuses = [...new Set(Object.values(ERROR_CODES).map((e) => e.http))].sort();
  const responses: JsonSchema = {
    '200': { description: 'The command succeeded (or, for a multi-line request, every line did).', content: { 'application/json': { schema: replySchema } } },
  };
  for (const status of statuses) {
    const codes = Object.entries(ERROR_CODES).filter(([, e]) => e.http === status).map(([code, e]) => `${code} ${e.word}`);
    responses[String(status)] = { description: `First error: ${codes.join(', ')}`, content: { 'application/json': { schema: replySchema } } };
  }
  responses['429'] = { description: 'The address or the user is banned for repeated failed authentication (Retry-After says how long).' };
  return {
    post: {
      operationId: 'cce',
      tags: ['CCE'],
      summary: 'Run CCE commands (every verb of the protocol)',
      description:
        'The body is JSON whatever the Content-Type says. Credentials travel in the envelope (`user`/`password`, `sessionid`, `token`) ' +
        'or as a bearer token. The HTTP status of a failed command is its first error\'s:\n\n| code | word | HTTP | meaning |\n|---|---|---|---|\n' +
        statusTable,
      requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(envelopeSchema), examples } } },
      responses,
    },
  };
}
