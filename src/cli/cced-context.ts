/**
 * What every `cced` command shares: its input and output, the configuration
 * it acts on (said on a line of its own before it does anything), and the
 * store of that configuration opened as one more door of the core.
 */
import pino from 'pino';
import { loadConfigFrom, type LoadedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { openStore, type OpenStore } from '../store/open.js';
import { DaemonState } from '../state.js';
import { installRules } from '../rules.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** Standard input when it is not a terminal (a piped password), else undefined. */
  stdin?: () => Promise<string>;
  /** Which configuration and store a command acts on, and progress on long runs (stderr in the executable). */
  info?(s: string): void;
}

/** The console's global options. */
export interface ConsoleOptions {
  config?: string;
  instance?: string;
}

/** A command refused for a reason the operator can fix: exit 1, the message on stderr. */
export class Refusal extends Error {}

export interface Console {
  io: Io;
  env: NodeJS.ProcessEnv;
  options: () => ConsoleOptions;
}

/** The configuration of the global options and the environment, announced on the info line. */
export function loadAnnounced(c: Console): LoadedConfig {
  const o = c.options();
  const argv = [...(o.config ? ['--config', o.config] : []), ...(o.instance ? ['--instance', o.instance] : [])];
  const loaded = loadConfigFrom({ argv, env: c.env });
  c.io.info?.(`cced: ${describeConfig(loaded)}\n`);
  return loaded;
}

/** "configuration /etc/cced/cced.conf + /etc/cced/cced.a.conf (instance a), CCED_* overrides: ...; store /var/lib/cced-a/cced.db". */
export function describeConfig({ config, files, instance, envKeys }: LoadedConfig): string {
  const source = files.length > 0 ? files.join(' + ') : 'built-in defaults (no --config, no CCED_CONFIG)';
  const named = instance !== undefined ? ` (instance ${instance})` : '';
  const env = envKeys.length > 0 ? `, overridden by ${envKeys.map((k) => `CCED_${k.toUpperCase()}`).join(' ')}` : '';
  return `configuration ${source}${named}${env}; store ${storeName(config)}`;
}

/** Where the store is: the SQLite file, or the PostgreSQL database with its user and password left out (db_url is a secret). */
export function storeName(config: Config): string {
  if (config.db_url === '') return config.db_path;
  const url = new URL(config.db_url);
  return `PostgreSQL ${url.host}${url.pathname}`;
}

/** Opens the store of the configuration, runs `fn`, closes it. */
export async function withStore<R>(c: Console, fn: (s: OpenStore, config: Config) => Promise<R> | R): Promise<R> {
  const { config } = loadAnnounced(c);
  // Audit lines of console writes go to stderr, so stdout stays for results.
  const log = pino({ base: { service: 'cced-admin' } }, pino.destination(2));
  const s = await openStore(config, log);
  // The console is one more door: the core's rules hold here too (a new password ends the user's grants in
  // the daemon, a suspended store refuses writes).
  installRules(s);
  await new DaemonState(s.store, s.writer).restore();
  try {
    return await fn(s, config);
  } finally {
    await s.close();
  }
}
