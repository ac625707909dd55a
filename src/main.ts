/**
 * `npm start` / the systemd unit: load the configuration, run the start-up
 * checks `cced check-config` runs too (src/config/check.ts), assemble the
 * daemon, listen. Signals:
 *   SIGHUP   re-read the configuration and put its api_access (and the access
 *            file's secrets) in force, without dropping a connection; the
 *            change is logged by entry, never a secret
 *   SIGTERM  (and SIGINT ...) stop taking requests, let those in flight finish
 *            within shutdown_timeout, close the database, exit 0; past the
 *            bound, exit 1 without them
 */
import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';
import { loadConfig, ConfigError } from './config/load.js';
import { CONFIG_KEYS, type Config } from './config/schema.js';
import { createLogger } from './log.js';
import { createApp, type App } from './app.js';
import { checkStartup } from './config/check.js';

/** SIGHUP: api_access from the configuration as it is now; other changed keys are named, for a restart. */
function reload(app: App, running: Config, log: Logger): void {
  let next: Config;
  try {
    next = loadConfig();
  } catch (err) {
    log.error({ reason: (err as Error).message }, 'reload refused: the configuration does not load; nothing changed');
    return;
  }
  try {
    const change = app.reloadAccess(next.api_access);
    const restart = CONFIG_KEYS.filter((k) => k !== 'api_access' && JSON.stringify(next[k]) !== JSON.stringify(running[k]));
    log.info({ audit: 'RELOAD', api_access: next.api_access, ...change, ...(restart.length > 0 ? { restart_needed: restart } : {}) }, 'access reloaded');
  } catch (err) {
    log.error({ reason: (err as Error).message }, 'reload failed; the entries in force are unchanged');
  }
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
    checkStartup(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cced: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config);
  const app = await createApp(config, { log });
  const running = config;
  closeWithGrace(
    {
      delay: config.shutdown_timeout * 1000,
      skip: ['SIGHUP'],
      logger: false,
      onTimeout: () => log.error({ shutdown_timeout: running.shutdown_timeout }, 'requests still in flight at shutdown_timeout; exiting without them'),
    },
    async ({ signal, err }) => {
      if (err) log.error({ err }, 'closing after an error');
      else log.info({ signal }, 'closing');
      // node closes the connections idle when close() starts; one whose request is answered during the drain
      // would stay open for its keep-alive time. Close each as soon as it is idle.
      const idle = setInterval(() => app.server.server.closeIdleConnections(), 100);
      idle.unref();
      try {
        await app.close();
      } catch (closeErr) {
        log.error({ err: closeErr }, 'close failed');
        throw closeErr;
      } finally {
        clearInterval(idle);
      }
      log.info('closed');
    },
  );
  process.on('SIGHUP', () => reload(app, running, log));
  const { host, port } = config.listen_address;
  // The listen queue holds a burst of up to max_connections not yet accepted (node accepts one per loop
  // turn); past node's default of 511, a new client's handshake is dropped and retried a second or more later.
  await app.server.listen({ host, port, backlog: config.max_connections });
}

main().catch((err) => {
  process.stderr.write(`cced: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
