/**
 * `npm start` / the systemd unit: load the configuration, run the start-up
 * checks `cced check-config` runs too (src/config/check.ts), assemble the daemon, listen, and close cleanly on a signal.
 */
import closeWithGrace from 'close-with-grace';
import { loadConfig, ConfigError } from './config/load.js';
import { createLogger } from './log.js';
import { createApp } from './app.js';
import { checkStartup } from './config/check.js';

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
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'closing after an error');
    else log.info({ signal }, 'closing');
    await app.close();
    log.info('closed');
  });
  const { host, port } = config.listen_address;
  await app.server.listen({ host, port });
}

main().catch((err) => {
  process.stderr.write(`cced: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
