/**
 * Heartbeat coalescing for a fleet's beats (the Meeting API's POST
 * /api/devices/{key}/online; the route stays in its facade).
 *
 * Beats are buffered and applied together in one store transaction, every
 * `heartbeat_flush_ms` or as soon as MAX_BATCH beats wait, whichever comes
 * first; each beat keeps its own arrival time as last_seen, and its promise
 * settles only after that transaction committed, so an acknowledged heartbeat
 * is durable. Each beat runs in its own savepoint: one failing (its device was
 * just deleted) fails alone. With `heartbeat_flush_ms = 0` every beat goes
 * straight to the writer (whose group commit then batches per event-loop turn).
 * One per daemon (services.heartbeats, made in src/app.ts): every door that
 * takes beats hands them to the same coalescer.
 */
import { hostname } from 'node:os';
import type { Services } from '../services.js';
import type { AclSubject } from '../schema/types.js';
import { encodeArray } from '../schema/values.js';
import type { WriteTx } from '../store/writer.js';

export const MAX_BATCH = 1000;
const HOST = hostname();

export interface Beat {
  oid: number;
  subject: AclSubject;
  /** Arrival time, ms. */
  at: number;
  ip: string;
  services?: string[];
  note?: string;
}

interface Pending {
  beat: Beat;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** What the coalescer writes with: the store, its writer, the events table, the config (read at each beat). */
export type HeartbeatParts = Pick<Services, 'config' | 'store' | 'writer' | 'events'>;

export class Heartbeats {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Transactions that carried beats, and beats applied (the bench reads them). */
  flushes = 0;
  beats = 0;

  constructor(private readonly s: HeartbeatParts) {}

  /** Resolves once the beat is committed. */
  submit(beat: Beat): Promise<void> {
    if (this.s.config.heartbeat_flush_ms === 0) return this.s.writer.submit((w) => this.apply(w, beat));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ beat, resolve, reject });
      // flush() settles every beat of its batch: nothing is left to handle here.
      if (this.pending.length >= MAX_BATCH) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.s.config.heartbeat_flush_ms);
    });
  }

  /** Applies the beats waiting now; resolves once they are settled (committed, or each refused). */
  close(): Promise<void> {
    return this.flush();
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    if (batch.length === 0) return Promise.resolve();
    this.pending = [];
    this.flushes++;
    const outcomes = this.s.writer.submit(async (w) => {
      const errors: unknown[] = [];
      for (const p of batch) {
        try {
          await w.savepoint(() => this.apply(w, p.beat));
          errors.push(undefined);
        } catch (err) {
          errors.push(err ?? new Error('heartbeat failed'));
        }
      }
      return errors;
    });
    return outcomes.then(
      (errors) => batch.forEach((p, i) => (errors[i] === undefined ? p.resolve() : p.reject(errors[i]))),
      (err) => batch.forEach((p) => p.reject(err)),
    );
  }

  /**
   * One beat, inside the transaction: last_seen, ip_address and the optional
   * services and note; a "Connected" event only when the device was not
   * connected already (never seen, or silent longer than the heartbeat timeout).
   * The previous last_seen is read from the store, not remembered: the
   * narrow write (StoreTx.beat) returns it from the row it rewrites, so it
   * costs no statement of its own and no memory per device.
   */
  private async apply(w: WriteTx, b: Beat): Promise<void> {
    const { config } = this.s;
    const tx = this.s.store.at(w);
    const lastSeen = new Date(b.at).toISOString();
    let previous: number;
    if (b.services === undefined && b.note === undefined) {
      // The beat of nearly every device: the store's narrow heartbeat write.
      previous = Date.parse((await tx.beat(b.subject, b.oid, lastSeen, b.ip)) ?? '');
    } else {
      previous = Date.parse((await tx.rawValue(b.oid, '', 'last_seen')) ?? '');
      const values: Record<string, unknown> = { last_seen: lastSeen, ip_address: b.ip };
      if (b.services !== undefined) values.services = encodeArray(b.services);
      if (b.note !== undefined) values.note = b.note;
      await tx.set(b.subject, b.oid, '', values, { routine: true });
    }
    this.beats++;
    const wasConnected = Number.isFinite(previous) && b.at - previous <= config.device_heartbeat_timeout * 1000;
    if (!wasConnected) await w.events.append(b.oid, { at: b.at, event: 'Connected', host: HOST, remote: b.ip }, config.status_max_logs);
  }
}
