/**
 * pino, JSON lines on stdout (journald keeps them). Every path that could hold
 * a secret is redacted, whatever logs it; code also never puts one in a line.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { LogRing } from './metrics/log-ring.js';

const SECRET_KEYS = [
  'password', 'oldpassword', 'sessionid', 'token', 'secret', 'client_secret', 'authorization', 'cookie',
  // The device world's secret-like values (src/facades/meeting).
  'token_code', 'ap_password', 'http_pw_low', 'http_pw_medium', 'http_pw_high',
];

export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  'req.headers["x-client-secret"]',
  'req.headers.authorization',
  'req.headers["x-device-token"]',
  'req.headers.cookie',
];

const rings = new WeakMap<Logger, LogRing>();

/** The in-memory tail of a logger made by createLogger (GET /api/metrics?action=logs). */
export function logRingOf(log: Logger): LogRing | undefined {
  return rings.get(log);
}

export function createLogger(config: Pick<Config, 'logging' | 'debuglog'>, destination?: DestinationStream): Logger {
  const level = config.debuglog ? 'debug' : config.logging ? 'info' : 'warn';
  const ring = new LogRing();
  // Every line the logger emits (its level already filtered them) goes to the destination and the ring.
  const streams = pino.multistream([
    { level: 'trace', stream: destination ?? pino.destination(1) },
    { level: 'trace', stream: ring },
  ]);
  const log = pino(
    {
      level,
      base: { service: 'cced' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    streams,
  );
  rings.set(log, ring);
  return log;
}
