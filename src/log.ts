/**
 * pino, JSON lines on stdout (journald keeps them). Every key that could hold
 * a secret is censored, whatever logs it; code also never puts one in a line.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { LogRing } from './metrics/log-ring.js';
import { CREDENTIAL_KEYS } from './auth/credentials/index.js';

/**
 * Keys whose value is censored wherever they appear in the first three levels
 * of a logged object, from one place each: the headers and envelope fields of
 * every credential strategy (src/auth/credentials), the properties the schema
 * flags `secret` (added when the schema is loaded: addSecretKeys), and the few
 * words below, which name a secret in any request or command.
 */
const SECRET_WORDS = ['password', 'oldpassword', 'secret', 'client_secret', 'cookie'];
const secretKeys = new Set<string>([...SECRET_WORDS, ...CREDENTIAL_KEYS]);
export const SECRET_KEYS: ReadonlySet<string> = secretKeys;

/** Censors these keys too (the schema's secret properties, src/app.ts). */
export function addSecretKeys(keys: Iterable<string>): void {
  for (const k of keys) secretKeys.add(k);
}

export const CENSOR = '[redacted]';

/** Levels below the logged object that are searched: `key`, `*.key` and `req.headers.key`. */
const MAX_DEPTH = 2;

const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * The logged object with every secret key's value censored, copying only the
 * objects on the way to a censored key: the common line (nothing to censor)
 * costs a walk over its keys and no allocation. pino's wildcard redact paths
 * (`*.password`...) did the same for 15-28 µs a line. Errors and other class
 * instances are left to their serializers (copying an Error loses its stack).
 */
export function censorSecrets(obj: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k in obj) {
    const v = obj[k];
    let next = v;
    if (SECRET_KEYS.has(k)) next = CENSOR;
    else if (depth < MAX_DEPTH && isPlain(v)) next = censorSecrets(v, depth + 1);
    if (next !== v) (out ??= { ...obj })[k] = next;
  }
  return out ?? obj;
}

const rings = new WeakMap<Logger, LogRing>();

/** The in-memory tail of a logger made by createLogger (GET /api/metrics?action=logs). */
export function logRingOf(log: Logger): LogRing | undefined {
  return rings.get(log);
}

/** Every line pino emits (its level already filtered them) goes to the destination and the ring. */
function tee(destination: DestinationStream, ring: LogRing): DestinationStream {
  return {
    write(line: string) {
      destination.write(line);
      ring.write(line);
    },
  };
}

/**
 * pino's isoTime builds a Date and its ISO string for every line; at thousands
 * of lines a second most lines share their millisecond with the previous one.
 */
let stampedMs = -1;
let stamp = '';
function isoTimeCached(): string {
  const now = Date.now();
  if (now !== stampedMs) {
    stampedMs = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

/**
 * stdout, one write(2) per event-loop turn: the lines logged while a turn runs
 * (a busy daemon answers several requests per turn) are joined and written
 * synchronously when it ends, so nothing waits in memory across I/O. sonic-boom
 * does the writing (partial writes, EAGAIN on a full pipe, EPIPE).
 */
function stdout(): DestinationStream {
  const out = pino.destination({ dest: 1, sync: true });
  const pending: string[] = [];
  const flush = () => {
    out.write(pending.join(''));
    pending.length = 0;
  };
  process.once('exit', () => pending.length > 0 && flush());
  return {
    write(line: string) {
      if (pending.push(line) === 1) setImmediate(flush);
    },
  };
}

export function createLogger(config: Pick<Config, 'logging' | 'debuglog'>, destination?: DestinationStream): Logger {
  const level = config.debuglog ? 'debug' : config.logging ? 'info' : 'warn';
  const ring = new LogRing();
  const log = pino(
    {
      level,
      base: { service: 'cced' },
      formatters: { log: censorSecrets },
      timestamp: isoTimeCached,
    },
    tee(destination ?? stdout(), ring),
  );
  rings.set(log, ring);
  return log;
}
