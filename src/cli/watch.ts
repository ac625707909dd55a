/**
 * `cce watch [--class C] [--oid N] [--namespace NS] [--since ID] [--count N]`:
 * follows POST /v2/events and prints each change as one JSON line, as it
 * comes. A dropped stream is resumed from the last id seen (Last-Event-ID),
 * so nothing is missed or printed twice; a `reset` (the log no longer reaches
 * that far) is printed as `{"reset":true,"last":"<id>"}`. Ends after --count
 * changes, when the signal aborts, or with exit 1 when the daemon refuses.
 */
import type { IncomingMessage } from 'node:http';
import { postJson } from './cce.js';

export interface WatchOptions {
  url: string;
  /** The envelope's credential fields (user + sessionid, or token). */
  credentials: Record<string, unknown>;
  secret?: string;
  ca?: string;
  filter: { class?: string; oid?: string; namespace?: string };
  since?: string;
  count?: number;
  signal?: AbortSignal;
  /** Pause before reconnecting a dropped stream (ms). */
  retryMs?: number;
}

type Outcome = { kind: 'done' } | { kind: 'dropped' } | { kind: 'refused'; status: number; body: string };

/** Runs until done; returns the exit code (0, or 1 when refused). */
export async function watch(o: WatchOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let last = o.since;
  let printed = 0;
  for (;;) {
    const outcome = await follow(o, last, (frame) => {
      if (frame.event === 'reset') out(JSON.stringify({ reset: true, last: frame.id }) + '\n');
      else if (frame.event === 'change') {
        out(frame.data + '\n');
        printed++;
      }
      if (frame.id !== undefined) last = frame.id;
      return o.count !== undefined && printed >= o.count;
    });
    if (outcome.kind === 'refused') {
      err(`cce: watch refused (HTTP ${outcome.status}): ${outcome.body.trim()}\n`);
      return 1;
    }
    if (outcome.kind === 'done' || o.signal?.aborted) return 0;
    await new Promise((r) => setTimeout(r, o.retryMs ?? 1000));
    if (o.signal?.aborted) return 0;
  }
}

interface Frame {
  id?: string;
  event?: string;
  data: string;
}

/** One connection: frames to `onFrame` (which says when to stop) until it ends. */
function follow(o: WatchOptions, last: string | undefined, onFrame: (f: Frame) => boolean): Promise<Outcome> {
  const payload = JSON.stringify({ ...o.credentials, ...o.filter, ...(last === undefined ? {} : { since: last }) });
  return new Promise((resolve) => {
    let settled = false;
    const settle = (v: Outcome) => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', abort);
      req.destroy();
      resolve(v);
    };
    const abort = () => settle({ kind: 'done' });
    const req = postJson(new URL('/v2/events', o.url), o, payload, (res) => (res.statusCode === 200 ? frames(res, onFrame, settle) : refusal(res, settle)));
    req.on('error', () => settle({ kind: 'dropped' }));
    o.signal?.addEventListener('abort', abort);
  });
}

function frames(res: IncomingMessage, onFrame: (f: Frame) => boolean, settle: (v: Outcome) => void): void {
  let buffer = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame: Frame = { data: '' };
      for (const line of buffer.slice(0, end).split('\n')) {
        if (line.startsWith('id: ')) frame.id = line.slice(4);
        else if (line.startsWith('event: ')) frame.event = line.slice(7);
        else if (line.startsWith('data: ')) frame.data += line.slice(6);
      }
      buffer = buffer.slice(end + 2);
      if (frame.event !== undefined && onFrame(frame)) return settle({ kind: 'done' });
    }
  });
  res.on('end', () => settle({ kind: 'dropped' }));
  res.on('error', () => settle({ kind: 'dropped' }));
}

function refusal(res: IncomingMessage, settle: (v: Outcome) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => settle({ kind: 'refused', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
}
