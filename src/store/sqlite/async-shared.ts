/**
 * What several backends on one SQLite file share, for the asynchronous adapter (async-adapter.ts): the
 * background jobs running on it, and the rows of an export or an import (port.ts TransferRows, awaited).
 *
 * Jobs: an SQLite file has one daemon; a job is held per file within this process (every connection of the
 * process to that file shares the hold), which is what one daemon needs. Another process on the file (the
 * console) runs no background job.
 */
import type { Exclusive, AsyncTransferReads, AsyncTransferWrites, NewChange } from '../async-port.js';
import type { ChangeRows, CredentialRecord, DeviceEvent } from '../port.js';
import type { SqliteBackend } from './backend.js';
import type { Db } from './db.js';

const fileJobs = new Map<string, Set<string>>();
const memoryJobs = new WeakMap<Db, Set<string>>();

function jobsOf(db: Db): Set<string> {
  let jobs = db.memory ? memoryJobs.get(db) : fileJobs.get(db.name);
  if (jobs === undefined) {
    jobs = new Set();
    if (db.memory) memoryJobs.set(db, jobs);
    else fileJobs.set(db.name, jobs);
  }
  return jobs;
}

/** Runs `fn` unless a job of this name runs on this file in this process; nothing takes the hold away (`lost` never aborts). */
export async function exclusiveOnFile<T>(db: Db, name: string, fn: (lost: AbortSignal) => Promise<T>): Promise<Exclusive<T>> {
  const jobs = jobsOf(db);
  if (jobs.has(name)) return { ran: false };
  jobs.add(name);
  try {
    return { ran: true, value: await fn(new AbortController().signal) };
  } finally {
    jobs.delete(name);
  }
}

/** The synchronous transfer rows, awaited; `live` refuses a call once the transaction or snapshot ended. */
export function asyncTransfer(sync: Pick<SqliteBackend, 'transfer' | 'events' | 'objects'>, live: () => void): AsyncTransferReads & AsyncTransferWrites {
  const run = <R>(fn: () => R): Promise<R> => {
    try {
      live();
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };
  async function* each<R>(rows: () => Iterable<R>): AsyncIterable<R> {
    live();
    for (const r of rows()) {
      yield r;
      live();
    }
  }
  return {
    objects: () => each(() => sync.transfer.objects()),
    properties: (oid) => run(() => sync.transfer.properties(oid)),
    credentials: () => each<CredentialRecord>(() => sync.transfer.credentials()),
    events: () => each<DeviceEvent & { device_oid: number }>(() => sync.events.each()),
    putCredential: (c) => run(() => sync.transfer.putCredential(c)),
    addEvent: (deviceOid, e) => run(() => sync.events.add(deviceOid, e)),
    reserveOids: (highest) => run(() => sync.objects.reserveOids(highest)),
  };
}

/** A batch of change rows, one prepared insert each (SQLite has no round trip to save); their ids in order. */
export function insertChanges(changes: ChangeRows, rows: readonly NewChange[]): number[] {
  return rows.map((r) => changes.insert(r.at, r.className, r.oid, r.ns, r.props, r.created, r.destroyed));
}
