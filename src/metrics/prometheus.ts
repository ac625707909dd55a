/**
 * Prometheus exposition for one daemon: Node's default metrics plus cced's own
 * (requests by verb and status, group commits, objects). Each daemon has its
 * own Registry, so several daemons in one process (the tests) do not clash.
 *
 * Requests are counted at the HTTP server ('finish' of every response, the
 * gate's refusals and 404s included). The label `verb` is the CCE verb of a
 * /v2/cce request and the HTTP method otherwise; the verb is read from the
 * fastify request, which fastify's own diagnostics channel hands us.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Services } from '../services.js';

const handlerChannel = tracingChannel<{ request: FastifyRequest }>('fastify.request.handler');

export class PromMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'verb' | 'status'>;
  private readonly routed = new WeakMap<IncomingMessage, FastifyRequest>();
  private readonly onHandler = { start: (msg: { request: FastifyRequest }) => void this.routed.set(msg.request.raw, msg.request) };
  private readonly onRequest = (req: IncomingMessage, res: ServerResponse) => {
    res.once('finish', () => this.requests.inc({ verb: this.routed.get(req)?.cceVerb ?? req.method!, status: String(res.statusCode) }));
  };

  constructor(
    services: Services,
    private readonly server: Server,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'cced_requests_total', help: 'HTTP requests by CCE verb (or HTTP method) and status', labelNames: ['verb', 'status'], registers });
    new Gauge({
      name: 'cced_writer_commits',
      help: 'Group commits of the writer since start',
      registers,
      collect() {
        this.set(services.writer.commits);
      },
    });
    new Gauge({
      name: 'cced_objects',
      help: 'Objects in the store',
      registers,
      collect() {
        this.set(services.store.count());
      },
    });
    server.on('request', this.onRequest);
    handlerChannel.subscribe(this.onHandler as never);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    this.server.off('request', this.onRequest);
    handlerChannel.unsubscribe(this.onHandler as never);
    this.registry.clear();
  }
}
