/**
 * The daemon's last log lines, in memory, for GET /api/metrics?action=logs.
 * It is fed the serialized lines pino writes, after redaction, so it holds
 * nothing the log itself would not. Bounded: the oldest line goes first.
 */
export const LOG_RING_LINES = 1000;

export class LogRing {
  private readonly lines: string[] = [];
  private next = 0;

  constructor(readonly capacity = LOG_RING_LINES) {}

  /** pino's stream interface: one or more newline-terminated JSON lines. */
  write(chunk: string): void {
    // pino writes one line per call: keep it without splitting (no array per line).
    const nl = chunk.indexOf('\n');
    if (nl > 0 && nl === chunk.length - 1) return this.push(chunk.slice(0, nl));
    for (const line of chunk.split('\n')) if (line !== '') this.push(line);
  }

  private push(line: string): void {
    if (this.lines.length < this.capacity) this.lines.push(line);
    else this.lines[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The newest `n` lines, oldest first (as `tail -n` prints them). */
  last(n: number): string[] {
    const ordered = this.lines.length < this.capacity ? this.lines : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return ordered.slice(Math.max(0, ordered.length - n));
  }
}
