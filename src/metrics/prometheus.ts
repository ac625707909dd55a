/**
 * Prometheus exposition for one daemon: Node's default metrics plus cced's own
 * (requests by verb and status, group commits, checkpoints, objects). Each
 * daemon has its own Registry, so several daemons in one process (the tests)
 * do not clash.
 * Every cced figure is read at scrape time (`collect`): nothing here runs per
 * request.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Services } from '../services.js';
import { checkpointFigures } from './system.js';

export class PromMetrics {
  readonly registry = new Registry();

  constructor(services: Services) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Counter({
      name: 'cced_requests_total',
      help: 'HTTP requests by CCE verb (or HTTP method) and status',
      labelNames: ['verb', 'status'],
      registers,
      collect() {
        this.reset();
        for (const { verb, status, count } of services.requests.entries()) this.inc({ verb, status: String(status) }, count);
      },
    });
    new Gauge({
      name: 'cced_writer_commits',
      help: 'Group commits of the writer since start',
      registers,
      collect() {
        this.set(services.writer.commits);
      },
    });
    new Counter({
      name: 'cced_checkpoints_total',
      help: 'WAL checkpoints since start (SQLite)',
      registers,
      collect() {
        this.reset();
        this.inc(checkpointFigures(services).runs);
      },
    });
    new Counter({
      name: 'cced_checkpoint_held_seconds_total',
      help: 'Time the writes waited for WAL checkpoints since start (SQLite)',
      registers,
      collect() {
        this.reset();
        this.inc(checkpointFigures(services).held_ms / 1000);
      },
    });
    new Gauge({
      name: 'cced_objects',
      help: 'Objects in the store',
      registers,
      async collect() {
        this.set(await services.store.count());
      },
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    this.registry.clear();
  }
}
