/**
 * Bytes of /v2/cce bodies in flight per client address. The envelope carries
 * its own credentials, so a body is read whole before anyone is known; what
 * many slow or stalled bodies can hold is bounded here: each address may have
 * at most `perIp` bytes of large bodies received and not yet answered. The
 * first `free` bytes of every body are not counted, so ordinary commands (AUTH,
 * PING, a SET of a few KiB) never wait behind someone's uploads; beyond the
 * budget a body is refused with 429 at once and its bytes released.
 */
import { Transform, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

export class BodiesInFlight extends Error {
  readonly statusCode = 429;
  readonly code = 'CCED_BODIES_IN_FLIGHT';

  constructor(perIp: number) {
    // An expected refusal, answered and never logged: a flood of them should not pay for a stack trace each.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`too many large request bodies in flight from this address (max_body_bytes_in_flight = ${perIp}); retry when they are answered`);
    Error.stackTraceLimit = limit;
  }
}

export class BodyBudget {
  private readonly held = new Map<string, number>();

  constructor(
    /** max_body_bytes_in_flight. */
    private readonly perIp: number,
    /** max_preauth_body_bytes: what every body may have uncounted. */
    private readonly free: number,
  ) {}

  /** Bytes counted against an address now. */
  heldBy(ip: string): number {
    return this.held.get(ip) ?? 0;
  }

  /**
   * fastify's preParsing hook. A body declared no larger than `free` passes
   * untouched (the common case costs one header read); a larger or chunked
   * one is counted as it arrives, and released when its response is done or
   * its connection gone.
   */
  readonly preParsing = (request: FastifyRequest, reply: FastifyReply, payload: Readable, done: (err: Error | null, body?: Readable) => void): void => {
    if (Number(request.headers['content-length']) <= this.free) return done(null, payload);
    const ip = request.ip;
    // No room left at all: refused before a byte of it is read.
    if (this.heldBy(ip) >= this.perIp) return done(new BodiesInFlight(this.perIp));
    let seen = 0;
    let charged = 0;
    reply.raw.once('close', () => {
      this.release(ip, charged);
      charged = 0;
    });
    const counter = new Transform({
      transform: (chunk: Buffer, _enc, next) => {
        seen += chunk.length;
        const more = seen - this.free - charged;
        if (more > 0) {
          if (this.heldBy(ip) + more > this.perIp) {
            return next(new BodiesInFlight(this.perIp));
          }
          this.held.set(ip, this.heldBy(ip) + more);
          charged += more;
        }
        next(null, chunk);
      },
    });
    payload.on('error', (err) => counter.destroy(err));
    payload.pipe(counter);
    done(null, counter);
  };

  private release(ip: string, bytes: number): void {
    if (bytes === 0) return;
    const left = this.heldBy(ip) - bytes;
    if (left <= 0) this.held.delete(ip);
    else this.held.set(ip, left);
  }
}
