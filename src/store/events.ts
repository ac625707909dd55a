/**
 * Device events (the Meeting API's "Connected" logs): what the domain and the
 * facades use, on whichever backend the store runs (port.ts DeviceEventRows;
 * SQLite's is sqlite/events.ts). Writes run inside a Writer transaction like
 * every other store write.
 */
import type { DeviceEventRows } from './port.js';

export type { DeviceEvent } from './port.js';
export type DeviceEvents = DeviceEventRows;
