/**
 * The daemon's side of the change log's readers: it reads each new page of
 * changes once, after the batch that wrote it is durable, and hands it to
 * every live stream (src/events/stream.ts); EVENT's long polls wait on it.
 * A reader behind the log's head reads its backlog itself (readPage) and
 * joins when it has caught up. It also prunes the log in the background.
 */
import type { Change, ChangeLog, Retention } from '../store/changes.js';
import { PRUNE_CHUNK } from '../store/changes.js';
import type { Writer } from '../store/writer.js';
import type { AclSubject, Schema } from '../schema/types.js';
import { PageViews, eventView, matches, type EventData, type EventFilter } from './view.js';

/** Changes read from the log in one statement. */
export const PAGE = 500;
/** How often the log is looked at for commits by another process (the console) while someone listens. */
const POLL_MS = 1000;
const PRUNE_EVERY_MS = 10_000;
/**
 * Stream writes per second the deliveries aim to stay under. Each delivery is
 * one write per live stream, and on loopback a write cost ~20 µs of the
 * daemon's CPU here: at 100 streams, a delivery per commit cost the writers
 * more than half their throughput (bench: events). So deliveries are spaced
 * by streams / WRITES_PER_SECOND (0.2 ms per stream: 2 ms at 10 streams, 20 ms
 * at 100, at most MAX_WINDOW_MS), and a page then carries the commits of that
 * window; a commit after a quiet spell goes out at once.
 */
const WRITES_PER_SECOND = 2000;
const MAX_WINDOW_MS = 100;

export interface LiveReader {
  /** New changes, oldest first, all with ids up to `upTo`. */
  deliver(changes: readonly Change[], upTo: number, views: PageViews): void;
  /** Ends the reader (the daemon stops). */
  close(): void;
}

export interface Page {
  events: EventData[];
  /** The position reached: every change up to it was looked at. */
  last: number;
}

export interface HubOptions {
  retention: Retention;
  onPruneError?: (err: unknown) => void;
  /** Reading the log for the live readers failed (the store failing): they get it at the next commit. */
  onReadError?: (err: unknown) => void;
  /**
   * Runs a store job unless another node of the database runs it now (src/store/cluster.ts): the log is
   * one for every node, so one node prunes it at a time. Default: run it.
   */
  once?: (name: string, job: () => Promise<unknown>) => Promise<boolean>;
}

export class EventHub {
  /** The highest id handed to the live readers (or known to exist when none listens). */
  private cursor = 0;
  /** The last pass of head() (they run one after another: two at once would deliver a page twice). */
  private heading: Promise<number>;
  private readonly live = new Set<LiveReader>();
  /** Every reader not yet ended, live or still reading its backlog. */
  private readonly open = new Set<LiveReader>();
  private readonly waiters = new Set<() => void>();
  private scheduled = false;
  private lastDelivery = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private pruning = false;
  /** The daemon stops: the store is about to close, nothing reads it any more. */
  closed = false;

  constructor(
    readonly changes: ChangeLog,
    readonly schema: Schema,
    writer: Writer,
    private readonly opts: HubOptions,
  ) {
    writer.onDurable(() => this.poke());
    this.heading = changes.newest().then((n) => (this.cursor = n));
  }

  /** Starts the background work: the poll for other processes' commits and pruning. */
  start(): void {
    const poll = setInterval(() => this.poke(), POLL_MS);
    const prune = setInterval(() => void this.pruneNow(), PRUNE_EVERY_MS);
    for (const t of [poll, prune]) t.unref();
    this.timers.push(poll, prune);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const reader of [...this.open]) reader.close();
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  /** Open readers (metrics, tests). */
  get readers(): number {
    return this.open.size;
  }

  /** A reader starts: the hub ends it when the daemon stops. */
  attach(reader: LiveReader): void {
    this.open.add(reader);
  }

  /** Brings the hub to the log's head now and returns it; live readers get what was new. */
  head(): Promise<number> {
    const pass = this.heading.then(() => this.headPass());
    // A failed pass (the store failing) fails its caller, not the passes after it.
    this.heading = pass.catch(() => this.cursor);
    return pass;
  }

  private async headPass(): Promise<number> {
    if (this.closed) return this.cursor;
    const newest = await this.changes.newest();
    if (this.live.size === 0) this.cursor = Math.max(this.cursor, newest);
    while (this.cursor < newest) {
      const page = await this.changes.after(this.cursor, newest, PAGE);
      const upTo = page.length === PAGE ? page.at(-1)!.id : newest;
      this.cursor = upTo;
      const views = new PageViews(this.schema, page);
      for (const reader of this.live) reader.deliver(page, upTo, views);
    }
    if (this.waiters.size > 0) {
      const waiting = [...this.waiters];
      this.waiters.clear();
      for (const w of waiting) w();
    }
    return this.cursor;
  }

  /**
   * Makes `reader` live if it has read up to the head (`position`); else
   * returns false and it reads on (readPage) and asks again.
   */
  async join(reader: LiveReader, position: number): Promise<boolean> {
    // Added in the turn its pass ends: the next pass, queued after it, delivers to it.
    if (position < (await this.head())) return false;
    this.live.add(reader);
    return true;
  }

  leave(reader: LiveReader): void {
    this.live.delete(reader);
    this.open.delete(reader);
  }

  /** Resolves when the head may have moved (a commit), or after `ms`. */
  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Is a reader at `position` further behind than the log keeps (or ahead of it: another database)? */
  async isLost(position: number): Promise<boolean> {
    return position < (await this.changes.prunedThrough()) || position > (await this.changes.newest());
  }

  /**
   * Up to `limit` changes after `from` (and at most up to `to`) that `subject`
   * may see and `filter` asks for; `last` is how far it looked.
   */
  async readPage(subject: AclSubject, filter: EventFilter, from: number, to: number, limit: number): Promise<Page> {
    const events: EventData[] = [];
    let last = from;
    while (last < to) {
      const page = await this.changes.after(last, to, PAGE);
      if (page.length === 0) return { events, last: to };
      for (const c of page) {
        last = c.id;
        const e = matches(filter, c) ? eventView(this.schema, subject, c) : undefined;
        if (e !== undefined && events.push(e) >= limit) return { events, last };
      }
      if (page.length < PAGE) return { events, last: to };
    }
    return { events, last };
  }

  private poke(): void {
    if (this.closed || this.scheduled || (this.live.size === 0 && this.waiters.size === 0)) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.lastDelivery = performance.now();
      this.head().catch((err: unknown) => this.opts.onReadError?.(err));
    };
    const window = Math.min(MAX_WINDOW_MS, (this.live.size * 1000) / WRITES_PER_SECOND);
    const wait = this.lastDelivery + window - performance.now();
    if (wait <= 0) setImmediate(run);
    else setTimeout(run, wait);
  }

  /** Prunes in chunks, one short job each, until nothing is beyond the retention; skipped while another node prunes. */
  async pruneNow(): Promise<void> {
    if (this.pruning) return;
    this.pruning = true;
    const prune = async () => {
      while ((await this.changes.prune(this.opts.retention)) === PRUNE_CHUNK);
    };
    try {
      await (this.opts.once ? this.opts.once('change-log-pruning', prune) : prune());
    } catch (err) {
      this.opts.onPruneError?.(err);
    } finally {
      this.pruning = false;
    }
  }
}
