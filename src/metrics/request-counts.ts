/**
 * Responses by verb and HTTP status, counted by the server's response hook
 * (src/http/server.ts). The hot path is one Map look-up and an increment;
 * prom-client reads the counts only when scraped (src/metrics/prometheus.ts),
 * which a labelled prom-client Counter per request would not allow: it hashes
 * its labels on every increment.
 */
export class RequestCounts {
  /** verb -> status -> responses. */
  private readonly byVerb = new Map<string, Map<number, number>>();

  /** `verb` is the CCE verb of a /v2/cce request and the HTTP method otherwise. */
  add(verb: string, status: number): void {
    let byStatus = this.byVerb.get(verb);
    if (byStatus === undefined) this.byVerb.set(verb, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  *entries(): IterableIterator<{ verb: string; status: number; count: number }> {
    for (const [verb, byStatus] of this.byVerb) for (const [status, count] of byStatus) yield { verb, status, count };
  }
}
