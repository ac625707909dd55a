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
import { frame, type EventFilter, type PageViews } from './view.js';
import { PAGE, type EventHub, type LiveReader } from './hub.js';

/** Where the frames go (src/http/events-route.ts, on a stream @fastify/sse opened). */
export interface Sink {
  /** Whole frames, in one write to the socket. */
  write(frames: string): void;
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
  /** Readers with the same key see the same thing of every change (see deliver). */
  private readonly viewKey: string;

  constructor(
    private readonly hub: EventHub,
    private readonly sink: Sink,
    private readonly opts: StreamOptions,
  ) {
    const c = opts.caller;
    // What eventView() depends on: admin, or the oid and capabilities the ACL rules look at.
    this.viewKey = c.admin ? 'admin' : `${c.oid}\0${c.capabilities.join(',')}`;
    hub.attach(this);
  }

  /** Sends the backlog after `since` (none: from now), then stays live until closed. */
  async start(since: number | undefined): Promise<void> {
    let position = since ?? (await this.hub.head());
    while (!this.closed) {
      if (await this.hub.isLost(position)) position = await this.reset();
      if (await this.hub.join(this, position)) return;
      const page = await this.hub.readPage(this.opts.caller, this.opts.filter, position, await this.hub.head(), PAGE);
      let text = '';
      for (const e of page.events) text += frame(e.id, 'change', JSON.stringify(e));
      if (text !== '') this.sink.write(text);
      position = page.last;
      await this.sink.drained();
    }
  }

  /** A new page, live, in one write (its frames built once per kind of reader: see PageViews). */
  deliver(changes: readonly Change[], _upTo: number, views: PageViews): void {
    if (this.closed) return;
    if (!this.opts.stillValid()) return this.end('credentials');
    const text = views.text(this.viewKey, this.opts.caller, this.opts.filter);
    if (text !== '') this.sink.write(text);
    if (this.sink.pending() > this.opts.bufferBytes) this.end('slow');
  }

  /** The client went away (or the daemon stops). */
  close(): void {
    this.end('closed');
  }

  private async reset(): Promise<number> {
    const head = await this.hub.head();
    this.sink.write(frame(String(head), 'reset', JSON.stringify({ last: String(head) })));
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
