/**
 * Nothing listens beyond loopback over plain HTTP unless asked: a non-loopback
 * listen_address without cert_file/key_file needs enable_http = true.
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
}
