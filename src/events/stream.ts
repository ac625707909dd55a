/**
 * One /v2/events subscriber: it reads its backlog from the log (from its
 * Last-Event-ID, exactly the changes after it, in order), then joins the hub
 * and gets each new page as it is committed. Each change it may see goes out
 * as `id: <id>`, `event: change`, `data: <JSON>`; a position the log no longer
 * reaches gets `event: reset` (with the current head as its id) and the stream
 * goes on from there. A reader that cannot keep up is closed once more than
 * `bufferBytes` wait for it, so memory stays bounded whatever it does.
 */
import type { Change } from '../store/changes.js';
import type { Caller } from '../auth/caller.js';
import { eventView, matches, type EventData, type EventFilter } from './view.js';
import { PAGE, type EventHub, type LiveReader } from './hub.js';

export interface SseMessage {
  id: string;
  event: 'change' | 'reset';
  data: EventData | { last: string };
}

/** Where the frames go (src/http/events-route.ts adapts @fastify/sse to it). */
export interface Sink {
  send(message: SseMessage): void;
  /** Bytes written and not yet taken by the client. */
  pending(): number;
  /** Resolves when the socket takes more without buffering (at once if it does now), or the stream closed. */
  drained(): Promise<void>;
  close(): void;
}

export interface StreamOptions {
  caller: Caller;
  filter: EventFilter;
  bufferBytes: number;
  /** Is the caller's session or token still valid? Checked on each delivery: an ended session ends its streams. */
  stillValid: () => boolean;
  /** Told once when the stream ends and why. */
  onEnd: (why: 'closed' | 'slow' | 'credentials') => void;
}

export class EventStream implements LiveReader {
  private closed = false;

  constructor(
    private readonly hub: EventHub,
    private readonly sink: Sink,
    private readonly opts: StreamOptions,
  ) {
    hub.attach(this);
  }

  /** Sends the backlog after `since` (none: from now), then stays live until closed. */
  async start(since: number | undefined): Promise<void> {
    let position = since ?? this.hub.head();
    while (!this.closed) {
      if (this.hub.isLost(position)) position = this.reset();
      if (this.hub.join(this, position)) return;
      const page = this.hub.readPage(this.opts.caller, this.opts.filter, position, this.hub.head(), PAGE);
      for (const e of page.events) this.sink.send({ id: e.id, event: 'change', data: e });
      position = page.last;
      await this.sink.drained();
    }
  }

  deliver(changes: readonly Change[]): void {
    if (this.closed) return;
    if (!this.opts.stillValid()) return this.end('credentials');
    const { caller, filter } = this.opts;
    for (const c of changes) {
      const e = matches(filter, c) ? eventView(this.hub.schema, caller, c) : undefined;
      if (e !== undefined) this.sink.send({ id: e.id, event: 'change', data: e });
    }
    if (this.sink.pending() > this.opts.bufferBytes) this.end('slow');
  }

  /** The client went away (or the daemon stops). */
  close(): void {
    this.end('closed');
  }

  private reset(): number {
    const head = this.hub.head();
    this.sink.send({ id: String(head), event: 'reset', data: { last: String(head) } });
    return head;
  }

  private end(why: 'closed' | 'slow' | 'credentials'): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.leave(this);
    this.sink.close();
    this.opts.onEnd(why);
  }
}
