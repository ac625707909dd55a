/**
 * /v2/events in the API reference (src/http/events-route.ts): a Server-Sent
 * Events stream of the change log, opened by GET (credentials as headers,
 * filters as query parameters) or POST (both in a JSON body). docs/events.md
 * says the rest.
 */
import type { JsonSchema } from './schema.js';

const filters: Record<string, JsonSchema> = {
  class: { type: 'string', description: 'Only changes to objects of this class' },
  oid: { type: 'string', pattern: '^[1-9][0-9]{0,15}$', description: 'Only changes to this object' },
  namespace: { type: 'string', description: 'Only changes in this namespace (main namespace: "")' },
  since: { type: 'string', description: 'Start after this change id (Last-Event-ID wins when both are sent)' },
};

const headers: Record<string, string> = {
  'X-CCE-User': 'With X-CCE-Session: a session (local addresses)',
  'X-CCE-Session': 'The session id AUTH answered',
  'X-CCE-Token': 'A LOGIN token, with X-Client-Secret (whitelisted addresses)',
  'X-Client-Secret': "The token's api_access entry's secret",
  'Last-Event-ID': 'Resume right after this change id',
};

const responses: JsonSchema = {
  '200': { description: 'The stream: `id: <change id>`, `event: change` (or `reset`), `data: {oid, class, namespace, properties, created, destroyed, time}`', content: { 'text/event-stream': { schema: { type: 'string' } } } },
  '400': { description: 'A filter is malformed, or a credential was sent in the query string' },
  '401': { description: 'No valid credentials: the /v2/cce failure envelope, before any event' },
  '403': { description: 'The address is outside the gate, or a bearer token was refused' },
  '429': { description: 'Too many streams from this address, or the address is banned' },
};

export function eventsOperation(method: 'GET' | 'POST'): JsonSchema {
  const common = { tags: ['CCE'], security: [{}, { bearer: [] }], responses };
  if (method === 'GET') {
    return {
      ...common,
      operationId: 'eventsGet',
      summary: 'Watch changes to the store (Server-Sent Events)',
      parameters: [
        ...Object.entries(filters).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
        ...Object.entries(headers).map(([name, description]) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } })),
      ],
    };
  }
  const credentials = { user: { type: 'string' }, sessionid: { type: 'string' }, token: { type: 'string' } };
  return {
    ...common,
    operationId: 'eventsPost',
    summary: 'Watch changes to the store (Server-Sent Events), credentials and filters in the body',
    requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { ...credentials, ...filters } } } } },
  };
}
