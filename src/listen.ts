/**
 * Nothing listens beyond loopback over plain HTTP unless asked: a non-loopback
 * listen_address without cert_file/key_file needs enable_http = true. And the
 * server's time limits, checked with the rest at start.
 */
import { isIP } from 'node:net';
import type { Config } from './config/schema.js';
import { ConfigError } from './config/load.js';

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function checkListen(config: Config): void {
  const tls = Boolean(config.cert_file && config.key_file);
  if (Boolean(config.cert_file) !== Boolean(config.key_file)) {
    throw new ConfigError('config: cert_file and key_file go together (set both or neither)');
  }
  if (!tls && !config.enable_http && !isLoopback(config.listen_address.host)) {
    throw new ConfigError(
      `config: listen_address: ${config.listen_address.host} is not loopback; serving it over plain HTTP needs enable_http = true (or set cert_file and key_file)`,
    );
  }
  serverTimeouts(config);
  checkBodyLimits(config);
}

/** One body of max_body_bytes must fit in an address's budget of bodies in flight. */
export function checkBodyLimits(config: Config): void {
  if (config.max_body_bytes_in_flight < config.max_body_bytes) {
    throw new ConfigError(
      `config: max_body_bytes_in_flight (${config.max_body_bytes_in_flight}) may not be less than max_body_bytes (${config.max_body_bytes})`,
    );
  }
}

/** The server's time limits, in the units node:http and fastify take. */
export interface ServerTimeouts {
  /** fastify options (node:http server fields it sets itself). */
  fastify: { requestTimeout: number; connectionTimeout: number; keepAliveTimeout: number };
  /** node:http createServer options: headersTimeout is read only there, and how often both deadlines are checked. */
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
}

/**
 * headers_timeout, request_timeout, connection_timeout and keepalive_timeout as
 * server options. node checks the header and request deadlines on a timer
 * (connectionsCheckingInterval, 30 s by default): it runs at a quarter of the
 * shorter deadline so a stalled request is closed close to its deadline.
 */
export function serverTimeouts(config: Config): ServerTimeouts {
  const request = config.request_timeout * 1000;
  const headers = config.headers_timeout * 1000;
  if (request > 0 && headers > request) {
    throw new ConfigError(`config: headers_timeout (${config.headers_timeout}) may not exceed request_timeout (${config.request_timeout})`);
  }
  const shortest = request > 0 ? Math.min(request, headers) : headers;
  return {
    fastify: { requestTimeout: request, connectionTimeout: config.connection_timeout * 1000, keepAliveTimeout: config.keepalive_timeout * 1000 },
    http: { headersTimeout: headers, requestTimeout: request, connectionsCheckingInterval: Math.min(30_000, Math.max(250, shortest / 4)) },
  };
}
