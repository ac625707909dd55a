/**
 * Device events (the Meeting API's "Connected" logs): what the domain and the
 * facades read, on whichever backend the store runs (the port's asynchronous
 * reads, async-port.ts AsyncEventReads: SQLite's sqlite/events.ts wrapped,
 * PostgreSQL's postgres/rows.ts). Writes run inside a Writer transaction like
 * every other store write (w.events).
 */
import type { AsyncEventReads } from './async-port.js';

export type { DeviceEvent } from './port.js';
export type DeviceEvents = AsyncEventReads;
