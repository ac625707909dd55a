/**
 * Everything the daemon checks about its configuration before it opens the
 * store, in one function: src/main.ts runs it at start and `cced
 * check-config` runs the same, so the console never says "ok" to a
 * configuration the daemon refuses. Read-only: it creates no file or folder.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Config } from './schema.js';
import { ConfigError } from './load.js';
import { checkListen } from '../listen.js';
import { loadSchema } from '../schema/loader.js';

export interface StartupCheck {
  /** Classes of the schema the configuration names. */
  classes: number;
  tls: boolean;
}

function readPem(key: 'cert_file' | 'key_file' | 'ca_cert_file', file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config: ${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The certificate and key load, and belong together (what https.createServer would refuse at start). */
function checkTls(config: Config): boolean {
  if (!config.cert_file || !config.key_file) return false;
  const cert = readPem('cert_file', config.cert_file);
  const key = readPem('key_file', config.key_file);
  const chain = config.ca_cert_file ? readPem('ca_cert_file', config.ca_cert_file) : '';
  try {
    createSecureContext({ cert: chain ? `${cert.trimEnd()}\n${chain}` : cert, key });
  } catch (err) {
    throw new ConfigError(`config: cert_file and key_file: ${(err as Error).message}`);
  }
  return true;
}

/** Throws a ConfigError naming the first problem; the daemon stops on it, check-config reports it. */
export function checkStartup(config: Config): StartupCheck {
  checkListen(config);
  if (config.tunnel_port_min > config.tunnel_port_max) {
    throw new ConfigError(`config: tunnel_port_min (${config.tunnel_port_min}) is above tunnel_port_max (${config.tunnel_port_max})`);
  }
  const tls = checkTls(config);
  let classes: number;
  try {
    classes = loadSchema(config.schema_dir).classes.size;
  } catch (err) {
    throw new ConfigError(`schema: ${(err as Error).message}`);
  }
  return { classes, tls };
}
